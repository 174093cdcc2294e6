package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pion/ice/v4"
	pionwebrtc "github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/crmphone/crmphone/controller"
	"github.com/crmphone/crmphone/controller/agents"
	"github.com/crmphone/crmphone/controller/logging"
	"github.com/crmphone/crmphone/controller/metrics"
	"github.com/crmphone/crmphone/controller/store"
	"github.com/crmphone/crmphone/ui/signaling"
	"github.com/crmphone/crmphone/ui/web"
	"github.com/crmphone/crmphone/webrtc/g711"
)

// fakeTokens accepts "good-<operator>" and rejects "bad-<code>" with that code.
type fakeTokens struct{}

type codeErr string

func (e codeErr) Error() string { return "fake rejection " + string(e) }

func (fakeTokens) VerifyToken(_ context.Context, token string) (controller.Identity, error) {
	if op, ok := strings.CutPrefix(token, "good-"); ok {
		return controller.Identity{OperatorID: op, DisplayName: "Operator " + op, ExpiresAt: time.Now().Add(time.Hour)}, nil
	}
	return controller.Identity{}, codeErr(strings.TrimPrefix(token, "bad-"))
}

func (fakeTokens) Code(err error) string {
	var c codeErr
	if errors.As(err, &c) {
		return string(c)
	}
	return "internal"
}

// request is what a fake handler received.
type request struct {
	Method string
	Params map[string]any
}

// fakeCall is the scripted call state of the fake call handlers.
type fakeCall struct {
	id, number, crmRef, state string
	direction                 string // "" is outbound
	muted, held               bool
}

// harness serves the real page and SDK (web.Register) and the real signaling server, with fake handlers
// standing in for the call flow and a pion PeerConnection answering the browser's media offer.
type harness struct {
	t     *testing.T
	url   string // http://127.0.0.1:port
	srv   *signaling.Server
	media *fakeMedia

	mu       sync.Mutex
	requests []request
	calls    map[string]*fakeCall
	nextCall int
	offers   map[string]*fakeOffer       // inbound calls offered, by call id
	tasks    map[string][]map[string]any // open callback tasks, by operator id
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	ops := controller.NewOperators(fakeTokens{}, st, agents.New(0), m, logging.Discard())

	e := echo.New()
	hs := httptest.NewUnstartedServer(e)
	origin := "http://" + hs.Listener.Addr().String()
	cfg := signaling.Config{AllowedOrigins: []string{origin}, MaxMessageBytes: 64 << 10, RatePerSecond: 50, Burst: 100, LoginTimeout: 10 * time.Second}
	srv := signaling.New(cfg, ops, m, logging.Discard())
	h := &harness{t: t, url: origin, srv: srv, calls: map[string]*fakeCall{}, media: newFakeMedia(t),
		offers: map[string]*fakeOffer{}, tasks: map[string][]map[string]any{}}
	srv.OnSession = func(c *signaling.Conn, closed bool) {
		if closed {
			h.media.drop(c)
		}
	}
	h.registerHandlers()
	h.registerInboundHandlers()
	web.Register(e)
	e.GET("/ws", echo.WrapHandler(srv))
	hs.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
		h.media.closeAll()
		st.Close()
	})
	return h
}

func (h *harness) record(method string, raw json.RawMessage) map[string]any {
	var p map[string]any
	json.Unmarshal(raw, &p)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, request{Method: method, Params: p})
	return p
}

// received returns the requests of a method the fake handlers have seen so far.
func (h *harness) received(method string) []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []request
	for _, r := range h.requests {
		if r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// waitReceived waits until the fake handlers have seen n requests of method and returns them.
func (h *harness) waitReceived(method string, n int) []request {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := h.received(method)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the server received %d %q requests, want %d (all: %+v)", len(got), method, n, h.requests)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) notify(c *signaling.Conn, call *fakeCall, cause string) {
	direction := call.direction
	if direction == "" {
		direction = "outbound"
	}
	data := map[string]any{
		"call_id": call.id, "direction": direction, "number": call.number, "crm_ref": call.crmRef,
		"state": call.state, "at": time.Now().UnixMilli(), "muted": call.muted, "held": call.held,
	}
	if cause != "" {
		data["cause"] = cause
	}
	c.Notify("call.state", data)
}

func (h *harness) callFor(p map[string]any) (*fakeCall, error) {
	id, _ := p["call_id"].(string)
	h.mu.Lock()
	defer h.mu.Unlock()
	call, ok := h.calls[id]
	if !ok || call.state == "ended" {
		return nil, signaling.Errf("unknown_call", "no such call")
	}
	return call, nil
}

func (h *harness) registerHandlers() {
	h.srv.Handle("media.offer", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		p := h.record("media.offer", raw)
		offer, _ := p["sdp"].(string)
		if offer == "" {
			return nil, signaling.Errf("bad_request", "no sdp")
		}
		answer, err := h.media.answer(c, offer)
		if err != nil {
			return nil, fmt.Errorf("fake media: %w", err)
		}
		return map[string]any{"sdp": answer}, nil
	})
	h.srv.Handle("call", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		p := h.record("call", raw)
		number, _ := p["number"].(string)
		crmRef, _ := p["crm_ref"].(string)
		h.mu.Lock()
		h.nextCall++
		call := &fakeCall{id: fmt.Sprintf("c-%d", h.nextCall), number: number, crmRef: crmRef, state: "dialing"}
		h.calls[call.id] = call
		h.mu.Unlock()
		h.notify(c, call, "")
		// Scripted progress; a hangup meanwhile ends the script.
		for _, step := range []struct {
			after time.Duration
			state string
		}{{150 * time.Millisecond, "ringing"}, {400 * time.Millisecond, "answered"}} {
			time.AfterFunc(step.after, func() {
				h.mu.Lock()
				defer h.mu.Unlock()
				if call.state != "ended" {
					call.state = step.state
					h.notify(c, call, "")
				}
			})
		}
		return map[string]any{"call_id": call.id}, nil
	})
	h.srv.Handle("hangup", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		call, err := h.callFor(h.record("hangup", raw))
		if err != nil {
			return nil, err
		}
		h.mu.Lock()
		call.state = "ended"
		h.notify(c, call, "local_hangup")
		h.mu.Unlock()
		return nil, nil
	})
	h.srv.Handle("mute", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		p := h.record("mute", raw)
		call, err := h.callFor(p)
		if err != nil {
			return nil, err
		}
		h.mu.Lock()
		call.muted, _ = p["muted"].(bool)
		h.mu.Unlock()
		return nil, nil
	})
	h.srv.Handle("hold", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		p := h.record("hold", raw)
		call, err := h.callFor(p)
		if err != nil {
			return nil, err
		}
		h.mu.Lock()
		call.held, _ = p["held"].(bool)
		h.mu.Unlock()
		return nil, nil
	})
	h.srv.Handle("dtmf", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		if _, err := h.callFor(h.record("dtmf", raw)); err != nil {
			return nil, err
		}
		return nil, nil
	})
}

// fakeMedia answers browser offers with pion PeerConnections (PCMU only, loopback only) that send a
// 1000 Hz tone and keep the last second of what they receive.
type fakeMedia struct {
	t   *testing.T
	api *pionwebrtc.API

	mu       sync.Mutex
	pcs      map[*signaling.Conn]*fakePeer
	received []int16 // last second of decoded audio from the browser, any peer
	iceUp    int     // peers whose ICE reached connected
	wg       sync.WaitGroup
}

type fakePeer struct {
	pc   *pionwebrtc.PeerConnection
	stop chan struct{}
}

const (
	sendToneHz = 1000
	sampleRate = 8000
)

func newFakeMedia(t *testing.T) *fakeMedia {
	var me pionwebrtc.MediaEngine
	if err := me.RegisterCodec(pionwebrtc.RTPCodecParameters{
		RTPCodecCapability: pionwebrtc.RTPCodecCapability{MimeType: pionwebrtc.MimeTypePCMU, ClockRate: sampleRate, Channels: 1},
		PayloadType:        0,
	}, pionwebrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	var se pionwebrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]pionwebrtc.NetworkType{pionwebrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return &fakeMedia{
		t:   t,
		api: pionwebrtc.NewAPI(pionwebrtc.WithMediaEngine(&me), pionwebrtc.WithSettingEngine(se)),
		pcs: map[*signaling.Conn]*fakePeer{},
	}
}

func (m *fakeMedia) answer(c *signaling.Conn, offer string) (string, error) {
	pc, err := m.api.NewPeerConnection(pionwebrtc.Configuration{})
	if err != nil {
		return "", err
	}
	peer := &fakePeer{pc: pc, stop: make(chan struct{})}
	track, err := pionwebrtc.NewTrackLocalStaticSample(pionwebrtc.RTPCodecCapability{MimeType: pionwebrtc.MimeTypePCMU, ClockRate: sampleRate}, "audio", "crmphone-test")
	if err != nil {
		pc.Close()
		return "", err
	}
	if _, err := pc.AddTrack(track); err != nil {
		pc.Close()
		return "", err
	}
	pc.OnICEConnectionStateChange(func(s pionwebrtc.ICEConnectionState) {
		if s == pionwebrtc.ICEConnectionStateConnected {
			m.mu.Lock()
			m.iceUp++
			m.mu.Unlock()
		}
	})
	pc.OnConnectionStateChange(func(s pionwebrtc.PeerConnectionState) {
		switch s {
		case pionwebrtc.PeerConnectionStateConnected:
			c.Notify("media.state", map[string]string{"state": "connected"})
		case pionwebrtc.PeerConnectionStateFailed:
			c.Notify("media.state", map[string]string{"state": "failed"})
		}
	})
	pc.OnTrack(func(remote *pionwebrtc.TrackRemote, _ *pionwebrtc.RTPReceiver) {
		for {
			pkt, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			pcm := g711.DecodeULawFrame(make([]int16, len(pkt.Payload)), pkt.Payload)
			m.mu.Lock()
			m.received = append(m.received, pcm...)
			if over := len(m.received) - sampleRate; over > 0 {
				m.received = append(m.received[:0], m.received[over:]...)
			}
			m.mu.Unlock()
		}
	})
	if err := pc.SetRemoteDescription(pionwebrtc.SessionDescription{Type: pionwebrtc.SDPTypeOffer, SDP: offer}); err != nil {
		pc.Close()
		return "", err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		pc.Close()
		return "", err
	}
	gathered := pionwebrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		pc.Close()
		return "", err
	}
	<-gathered
	m.mu.Lock()
	if old := m.pcs[c]; old != nil {
		m.closePeer(old)
	}
	m.pcs[c] = peer
	m.mu.Unlock()
	m.wg.Add(1)
	go m.sendTone(track, peer.stop)
	return pc.LocalDescription().SDP, nil
}

// sendTone sends a 1000 Hz sine as 20 ms PCMU frames until stop closes.
func (m *fakeMedia) sendTone(track *pionwebrtc.TrackLocalStaticSample, stop chan struct{}) {
	defer m.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	frame := make([]int16, sampleRate/50)
	payload := make([]byte, len(frame))
	n := 0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for i := range frame {
			frame[i] = int16(12000 * math.Sin(2*math.Pi*sendToneHz*float64(n)/sampleRate))
			n++
		}
		if err := track.WriteSample(media.Sample{Data: g711.EncodeULawFrame(payload, frame), Duration: 20 * time.Millisecond}); err != nil {
			return
		}
	}
}

// closePeer must be called with m.mu held.
func (m *fakeMedia) closePeer(p *fakePeer) {
	close(p.stop)
	m.wg.Add(1)
	go func() { // Close may wait for the OnTrack reader, which takes m.mu
		defer m.wg.Done()
		p.pc.Close()
	}()
}

func (m *fakeMedia) drop(c *signaling.Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.pcs[c]; p != nil {
		delete(m.pcs, c)
		m.closePeer(p)
	}
}

func (m *fakeMedia) closeAll() {
	m.mu.Lock()
	peers := m.pcs
	m.pcs = map[*signaling.Conn]*fakePeer{}
	m.mu.Unlock()
	for _, p := range peers {
		close(p.stop)
		p.pc.Close()
	}
	m.wg.Wait()
}

// resetReceived forgets what the browser sent so far.
func (m *fakeMedia) resetReceived() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.received = m.received[:0]
}

func (m *fakeMedia) iceConnected() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.iceUp
}

// receivedTone returns the dominant frequency (200-3000 Hz, 5 Hz steps, Goertzel) of the last second the
// browser sent, and its RMS level.
func (m *fakeMedia) receivedTone() (hz, rms float64) {
	m.mu.Lock()
	samples := append([]int16(nil), m.received...)
	m.mu.Unlock()
	return dominantHz(samples)
}

func dominantHz(samples []int16) (hz, rms float64) {
	if len(samples) == 0 {
		return 0, 0
	}
	var sum float64
	for _, s := range samples {
		sum += float64(s) * float64(s)
	}
	rms = math.Sqrt(sum / float64(len(samples)))
	best := 0.0
	for f := 200.0; f <= 3000; f += 5 {
		if p := goertzel(samples, f); p > best {
			best, hz = p, f
		}
	}
	return hz, rms
}

func goertzel(samples []int16, hz float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*hz/sampleRate)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}
