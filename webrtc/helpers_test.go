package webrtc

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	pionwebrtc "github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// hangGuard only protects the test run from hanging; no assertion depends on it.
const hangGuard = 10 * time.Second

func newTestEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine(Config{ListenIP: "127.0.0.1", UDPPort: 0, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	return e
}

// browser is a plain pion PeerConnection on loopback playing the operator's browser.
type browser struct {
	pc       *pionwebrtc.PeerConnection
	track    *pionwebrtc.TrackLocalStaticRTP
	received chan *rtp.Packet
	readers  sync.WaitGroup
}

// newBrowser offers the given codecs (in that order) and sends with sendCodec.
func newBrowser(t testing.TB, offered []Codec, sendCodec Codec) *browser {
	t.Helper()
	var me pionwebrtc.MediaEngine
	for _, c := range offered {
		if err := me.RegisterCodec(pionwebrtc.RTPCodecParameters{
			RTPCodecCapability: c.capability(), PayloadType: pionwebrtc.PayloadType(c.PayloadType),
		}, pionwebrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	var se pionwebrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]pionwebrtc.NetworkType{pionwebrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	var reg interceptor.Registry // receiver reports like a browser's
	if err := pionwebrtc.ConfigureRTCPReports(&reg); err != nil {
		t.Fatal(err)
	}
	api := pionwebrtc.NewAPI(pionwebrtc.WithMediaEngine(&me), pionwebrtc.WithSettingEngine(se), pionwebrtc.WithInterceptorRegistry(&reg))
	pc, err := api.NewPeerConnection(pionwebrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	track, err := pionwebrtc.NewTrackLocalStaticRTP(sendCodec.capability(), "mic", "browser")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{pc: pc, track: track, received: make(chan *rtp.Packet, 1000)}
	b.readers.Add(1)
	go func() { // RTCP must be read for the interceptors; ends when the PC closes
		defer b.readers.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	pc.OnTrack(func(remote *pionwebrtc.TrackRemote, _ *pionwebrtc.RTPReceiver) {
		b.readers.Add(1)
		defer b.readers.Done()
		for {
			p, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			select {
			case b.received <- p:
			default:
			}
		}
	})
	t.Cleanup(b.close)
	return b
}

func (b *browser) close() {
	_ = b.pc.GracefulClose()
	b.readers.Wait()
}

func (b *browser) offer(t testing.TB) string {
	t.Helper()
	offer, err := b.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := pionwebrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return b.pc.LocalDescription().SDP
}

func (b *browser) accept(t testing.TB, answer string) {
	t.Helper()
	if err := b.pc.SetRemoteDescription(pionwebrtc.SessionDescription{Type: pionwebrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
}

func (b *browser) send(t testing.TB, seq uint16, ts uint32, payload []byte) {
	t.Helper()
	p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: payload}
	if err := b.track.WriteRTP(p); err != nil {
		t.Fatal(err)
	}
}

func (b *browser) next(t testing.TB) *rtp.Packet {
	t.Helper()
	select {
	case p := <-b.received:
		return p
	case <-time.After(hangGuard):
		t.Fatal("browser received nothing")
		return nil
	}
}

// connect creates a session, negotiates it with a browser and waits until both sides are connected.
func connect(t testing.TB, e *Engine, offered []Codec, want Codec) (*Session, *browser, *stateLog) {
	t.Helper()
	ctx := context.Background()
	s, err := e.NewSession(ctx, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	states := &stateLog{changed: make(chan struct{}, 100)}
	s.OnStateChange(states.add)
	b := newBrowser(t, offered, want)
	answer, err := s.Answer(ctx, b.offer(t))
	if err != nil {
		t.Fatal(err)
	}
	b.accept(t, answer)
	states.waitFor(t, StateConnected)
	deadline := time.Now().Add(hangGuard)
	for b.pc.ConnectionState() != pionwebrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatal("browser not connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s, b, states
}

type stateLog struct {
	mu      sync.Mutex
	all     []State
	changed chan struct{}
}

func (l *stateLog) add(s State) {
	l.mu.Lock()
	l.all = append(l.all, s)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *stateLog) snapshot() []State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]State(nil), l.all...)
}

func (l *stateLog) waitFor(t testing.TB, want State) {
	t.Helper()
	timeout := time.After(hangGuard)
	for {
		for _, s := range l.snapshot() {
			if s == want {
				return
			}
		}
		select {
		case <-l.changed:
		case <-timeout:
			t.Fatalf("state %s not reached; states %v", want, l.snapshot())
		}
	}
}

// fakeAsterisk plays an externalMedia UnicastRTP channel: one UDP socket on loopback.
type fakeAsterisk struct {
	conn *net.UDPConn
}

func newFakeAsterisk(t testing.TB) *fakeAsterisk {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &fakeAsterisk{conn: conn}
}

func (a *fakeAsterisk) addr() *net.UDPAddr { return a.conn.LocalAddr().(*net.UDPAddr) }

func (a *fakeAsterisk) send(t testing.TB, to *net.UDPAddr, seq uint16, ts, ssrc uint32, payload []byte) {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}
	raw, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.conn.WriteToUDP(raw, to); err != nil {
		t.Fatal(err)
	}
}

func (a *fakeAsterisk) next(t testing.TB) (*rtp.Packet, *net.UDPAddr) {
	t.Helper()
	buf := make([]byte, 1500)
	_ = a.conn.SetReadDeadline(time.Now().Add(hangGuard))
	n, from, err := a.conn.ReadFromUDP(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("fake Asterisk received nothing")
		}
		t.Fatal(err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return &p, from
}

// waitStats polls the leg's counters until ok accepts them (counters are updated just after the packet
// is sent, so the receiver can see the packet first); the timeout only prevents a hang.
func waitStats(t testing.TB, leg *Leg, ok func(LegStats) bool) LegStats {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		st := leg.Stats()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never matched: %+v", st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
