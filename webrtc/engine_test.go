package webrtc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestICELiteSessionConnects(t *testing.T) {
	e, err := NewEngine(Config{ListenIP: "127.0.0.1", ICELite: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, _, _ := connect(t, e, []Codec{CodecPCMU}, CodecPCMU)
	if !strings.Contains(s.pc.CurrentLocalDescription().SDP, "a=ice-lite") {
		t.Error("answer does not announce ice-lite")
	}
}

func TestNAT1To1AddressReplacesLocalCandidate(t *testing.T) {
	e, err := NewEngine(Config{ListenIP: "127.0.0.1", NAT1To1IPs: []string{"203.0.113.7"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := e.NewSession(context.Background(), "nat")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	answer, err := s.Answer(context.Background(), newBrowser(t, []Codec{CodecPCMU}, CodecPCMU).offer(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := e.MediaAddrs()[0].String()
	port := addr[strings.LastIndex(addr, ":")+1:]
	var candidates []string
	for line := range strings.SplitSeq(answer, "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			candidates = append(candidates, line)
		}
	}
	if len(candidates) == 0 {
		t.Fatal("no candidates in the answer")
	}
	for _, c := range candidates {
		if !strings.Contains(c, " 203.0.113.7 "+port+" typ host") {
			t.Errorf("candidate %q, want host 203.0.113.7:%s only", c, port)
		}
	}
}

func TestICEServersForBrowserAndRedaction(t *testing.T) {
	cfg := Config{ListenIP: "127.0.0.1", Logger: slog.New(slog.DiscardHandler), ICEServers: []ICEServer{
		{URLs: []string{"stun:stun.example.org:3478"}},
		{URLs: []string{"turn:turn.example.org:3478?transport=udp"}, Username: "crm", Credential: "s3cret-turn"},
	}}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got := e.ICEServersForBrowser()
	if len(got) != 2 || got[1].Credential != "s3cret-turn" || got[0].URLs[0] != "stun:stun.example.org:3478" {
		t.Fatalf("ICEServersForBrowser = %+v", got)
	}
	got[1].URLs[0] = "changed"
	if e.ICEServersForBrowser()[1].URLs[0] == "changed" {
		t.Error("ICEServersForBrowser exposes the engine's slice")
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "server", cfg.ICEServers[1])
	for _, out := range []string{cfg.ICEServers[1].String(), fmt.Sprint(cfg.ICEServers[1]), fmt.Sprintf("%v", cfg.ICEServers), logged.String()} {
		if strings.Contains(out, "s3cret-turn") {
			t.Errorf("credential leaked: %s", out)
		}
	}
}

func TestCloseOrder(t *testing.T) {
	e, err := NewEngine(Config{ListenIP: "127.0.0.1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s, _, states := connect(t, e, []Codec{CodecPCMA}, CodecPCMA)
	leg, err := s.AttachCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	idle, err := e.NewSession(context.Background(), "never answered")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("engine close: %v", err)
	}
	states.waitFor(t, StateClosed)
	if idle.State() != StateClosed {
		t.Errorf("unanswered session state %s after engine close", idle.State())
	}
	if _, err := s.AttachCall(context.Background()); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("AttachCall after close: %v", err)
	}
	if _, err := leg.conn.WriteToUDP([]byte{0}, leg.LocalAddr()); err == nil {
		t.Error("leg socket still open after the session closed")
	}
	if err := leg.Close(); err != nil {
		t.Errorf("second leg close: %v", err)
	}
	if _, err := e.NewSession(context.Background(), "late"); !errors.Is(err, ErrEngineClosed) {
		t.Errorf("NewSession after close: %v", err)
	}
}
