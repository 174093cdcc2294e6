package ari

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// hangGuard bounds waits so a broken implementation fails instead of hanging; it is not a
// performance assertion.
const hangGuard = 10 * time.Second

// fakeEvents is a websocket endpoint like /ari/events: each accepted connection is handed to the
// test through conns.
type fakeEvents struct {
	srv   *httptest.Server
	conns chan *websocket.Conn

	mu       sync.Mutex
	uris     []string
	authFail bool
}

func newFakeEvents(t *testing.T) *fakeEvents {
	t.Helper()
	f := &fakeEvents{conns: make(chan *websocket.Conn, 8)}
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.uris = append(f.uris, r.RequestURI)
		fail := f.authFail
		f.mu.Unlock()
		u, p, ok := r.BasicAuth()
		if fail || !ok || u != testUser || p != testPassword {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Authentication required"}`))
			return
		}
		if r.URL.Path != "/ari/events" {
			http.NotFound(w, r)
			return
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		f.conns <- conn
	}))
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
		close(f.conns)
		for c := range f.conns {
			c.Close()
		}
	})
	return f
}

func (f *fakeEvents) accept(t *testing.T) *websocket.Conn {
	t.Helper()
	select {
	case c := <-f.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(hangGuard):
		t.Fatal("client did not connect")
		return nil
	}
}

func send(t *testing.T, conn *websocket.Conn, msg string) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatalf("subscription closed: %v", s.Err())
		}
		return ev
	case <-time.After(hangGuard):
		t.Fatal("no event")
		return nil
	}
}

// stateRecorder collects OnStateChange notifications.
type stateRecorder struct {
	mu     sync.Mutex
	states []ConnState
	signal chan struct{}
}

func newStateRecorder() *stateRecorder { return &stateRecorder{signal: make(chan struct{}, 100)} }

func (r *stateRecorder) record(s ConnState) {
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

func (r *stateRecorder) waitFor(t *testing.T, ok func(ConnState) bool) ConnState {
	t.Helper()
	deadline := time.After(hangGuard)
	for {
		r.mu.Lock()
		for _, s := range r.states {
			if ok(s) {
				r.mu.Unlock()
				return s
			}
		}
		r.mu.Unlock()
		select {
		case <-r.signal:
		case <-deadline:
			t.Fatalf("state not reached; states %+v", r.snapshot())
		}
	}
}

func (r *stateRecorder) snapshot() []ConnState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ConnState(nil), r.states...)
}

type runHandle struct {
	c    *Client
	done chan error
	logs *bytes.Buffer
	mu   *sync.Mutex
}

// logBuffer is a concurrency-safe writer for the slog handler.
type logBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (l logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func startRun(t *testing.T, f *fakeEvents, rec *stateRecorder) *runHandle {
	t.Helper()
	h := &runHandle{done: make(chan error, 1), logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	c, err := New(Config{
		BaseURL: f.srv.URL, Username: testUser, Password: testPassword, Application: "crmphone",
		BackoffMin: 5 * time.Millisecond, BackoffMax: 40 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(logBuffer{h.mu, h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnStateChange: rec.record,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	go func() { h.done <- c.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = c.Close()
		select {
		case <-h.done:
		case <-time.After(hangGuard):
			t.Error("Run did not return after Close")
		}
	})
	return h
}

func TestRunDeliversEvents(t *testing.T) {
	f := newFakeEvents(t)
	rec := newStateRecorder()
	h := startRun(t, f, rec)
	call := h.c.Subscribe(64, "g1a-out")
	all := h.c.SubscribeCatchAll(64)
	conn := f.accept(t)
	rec.waitFor(t, func(s ConnState) bool { return s.Connected })

	send(t, conn, stasisStartJSON)
	send(t, conn, `{"type":"StasisStart","timestamp":"2026-11-23T19:35:39.971+0000","application":"crmphone","args":[],"channel":{"id":"1795462539.10","state":"Ring"}}`)
	send(t, conn, `{"type":"SomethingNew","application":"crmphone","channel":{"id":"g1a-out"}}`)
	send(t, conn, `{"type":"Dial","application":"crmphone","timestamp":"broken"}`)

	if ev := recv(t, call); ev.Type() != "StasisStart" || ev.(*StasisStart).Channel.ID != "g1a-out" {
		t.Errorf("call got %#v", ev)
	}
	if ev := recv(t, all); ev.(*StasisStart).Channel.State != "Ring" {
		t.Errorf("catch-all got %#v", ev)
	}
	// Unknown types are delivered raw (to the catch-all: RawEvent has no routing keys).
	if ev := recv(t, all); ev.Type() != "SomethingNew" {
		t.Errorf("unknown type: got %s", ev.Type())
	} else if !strings.Contains(string(ev.(*RawEvent).Raw), "g1a-out") {
		t.Errorf("raw = %s", ev.(*RawEvent).Raw)
	}
	// Undecodable messages are delivered too, never dropped silently.
	if ev := recv(t, all); ev.Type() != "Undecodable" || !strings.Contains(string(ev.(*RawEvent).Raw), "broken") {
		t.Errorf("undecodable: got %s", ev.Type())
	}

	f.mu.Lock()
	uri := f.uris[0]
	f.mu.Unlock()
	if uri != "/ari/events?app=crmphone&subscribeAll=false" {
		t.Errorf("events URI = %s", uri)
	}
	_ = h.c.Close()
	if err := <-h.done; err != nil {
		t.Errorf("Run after Close = %v", err)
	}
	h.done <- nil // for the cleanup
	if st := h.c.State(); st.Connected {
		t.Errorf("state after Close: %+v", st)
	}
	checkLogsClean(t, h)
}

func checkLogsClean(t *testing.T, h *runHandle) {
	t.Helper()
	h.mu.Lock()
	logs := h.logs.String()
	h.mu.Unlock()
	enc := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))
	if strings.Contains(logs, testPassword) || strings.Contains(logs, enc) {
		t.Errorf("logs leak the password:\n%s", logs)
	}
}

// TestReconnect: the server drops the websocket; the client reconnects, State goes
// disconnected then connected with Reconnects incremented, and the catch-all gets Reconnected.
func TestReconnect(t *testing.T) {
	f := newFakeEvents(t)
	rec := newStateRecorder()
	h := startRun(t, f, rec)
	all := h.c.SubscribeCatchAll(16)
	first := f.accept(t)
	rec.waitFor(t, func(s ConnState) bool { return s.Connected && s.Reconnects == 0 })

	_ = first.Close() // drop
	down := rec.waitFor(t, func(s ConnState) bool { return !s.Connected && s.LastError != "" })
	second := f.accept(t)
	up := rec.waitFor(t, func(s ConnState) bool { return s.Connected && s.Reconnects == 1 })
	if !up.Since.After(down.Since) && !up.Since.Equal(down.Since) {
		t.Errorf("Since went backwards: %v then %v", down.Since, up.Since)
	}
	ev := recv(t, all)
	r, ok := ev.(*Reconnected)
	if !ok || r.Reconnects != 1 || r.LastError == "" || r.Type() != EventTypeReconnected {
		t.Fatalf("catch-all got %#v", ev)
	}

	// The new connection delivers events.
	sub := h.c.Subscribe(4, "em1-ulaw")
	send(t, second, channelVarsetJSON)
	if ev := recv(t, sub); ev.(*ChannelVarset).Variable != "STASISSTATUS" {
		t.Errorf("got %#v", ev)
	}

	// The sequence of states: connected → disconnected → connected.
	var seq []bool
	for _, s := range rec.snapshot() {
		if len(seq) == 0 || seq[len(seq)-1] != s.Connected {
			seq = append(seq, s.Connected)
		}
	}
	if len(seq) < 3 || !seq[0] || seq[1] || !seq[2] {
		t.Errorf("connected sequence %v", seq)
	}
	if st := h.c.State(); !st.Connected || st.Reconnects != 1 {
		t.Errorf("State() = %+v", st)
	}
	checkLogsClean(t, h)
}

func TestRunUnauthorizedKeepsRetrying(t *testing.T) {
	f := newFakeEvents(t)
	f.authFail = true
	rec := newStateRecorder()
	h := startRun(t, f, rec)
	st := rec.waitFor(t, func(s ConnState) bool { return strings.Contains(s.LastError, "401") })
	if st.Connected || strings.Contains(st.LastError, testPassword) {
		t.Errorf("state %+v", st)
	}
	// Several attempts (backoff) and none put credentials in the URL.
	rec.waitFor(t, func(ConnState) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.uris) >= 3
	})
	f.mu.Lock()
	for _, u := range f.uris {
		if strings.Contains(u, testPassword) || strings.Contains(u, "api_key") {
			t.Errorf("credentials in URL %s", u)
		}
	}
	f.mu.Unlock()
	f.mu.Lock()
	f.authFail = false
	f.mu.Unlock()
	f.accept(t)
	if s := rec.waitFor(t, func(s ConnState) bool { return s.Connected }); s.Reconnects != 0 {
		t.Errorf("first successful connection counted as reconnect: %+v", s)
	}
	checkLogsClean(t, h)
}

func TestRunContextCancel(t *testing.T) {
	f := newFakeEvents(t)
	c := newTestClient(t, f.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	f.accept(t)
	if err := c.Run(context.Background()); err == nil {
		t.Error("second concurrent Run succeeded")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("Run did not stop")
	}
	// Run can be started again after it returned.
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- c.Run(ctx2) }()
	f.accept(t)
	cancel2()
	<-done
}

func TestRunNeedsApplication(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Username: "u"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Run(context.Background()); err == nil {
		t.Error("Run without Application succeeded")
	}
}

// TestRunIsolationEndToEnd: over the websocket, a consumer that never reads its subscription does
// not hold up another call's events.
func TestRunIsolationEndToEnd(t *testing.T) {
	f := newFakeEvents(t)
	rec := newStateRecorder()
	h := startRun(t, f, rec)
	stuck := h.c.Subscribe(2, "stuck")
	live := h.c.Subscribe(500, "live")
	conn := f.accept(t)
	for i := range 200 {
		send(t, conn, `{"type":"ChannelStateChange","application":"crmphone","channel":{"id":"stuck","state":"Up"}}`)
		if i%2 == 0 {
			send(t, conn, `{"type":"ChannelStateChange","application":"crmphone","channel":{"id":"live","state":"Up"}}`)
		}
	}
	for range 100 {
		recv(t, live)
	}
	for range stuck.Events() {
	}
	if !errors.Is(stuck.Err(), ErrSubscriptionOverflow) {
		t.Errorf("stuck err %v", stuck.Err())
	}
}

func TestSecretsRedacted(t *testing.T) {
	cfg := Config{BaseURL: "http://127.0.0.1:8088", Username: testUser, Password: testPassword, Application: "crmphone"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "config", cfg)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range []string{cfg.String(), cfg.GoString(), buf.String(), c.String(), c.GoString(),
		sprintf("%v", cfg), sprintf("%+v", cfg), sprintf("%#v", cfg), sprintf("%v", c), sprintf("%+v", c), c.eventsURL()} {
		if strings.Contains(s, testPassword) {
			t.Errorf("password leaked in %q", s)
		}
	}
	if !strings.Contains(buf.String(), redacted) || !strings.Contains(cfg.String(), redacted) {
		t.Errorf("expected redaction marker in %s / %s", buf.String(), cfg.String())
	}
}
