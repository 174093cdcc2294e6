package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	pionwebrtc "github.com/pion/webrtc/v4"

	"github.com/crmphone/crmphone/ari/aritest"
	"github.com/crmphone/crmphone/controller/store"
	"github.com/crmphone/crmphone/controller/webhooks"
	"github.com/crmphone/crmphone/tokens"
	"github.com/crmphone/crmphone/webrtc/g711"
)

// goBrowser is the operator's browser played by pion: it speaks crmphone's
// websocket protocol and WebRTC exactly as the JS SDK does, offering PCMU.
type goBrowser struct {
	t     *testing.T
	ws    *websocket.Conn
	pc    *pionwebrtc.PeerConnection
	track *pionwebrtc.TrackLocalStaticRTP

	mu        sync.Mutex
	nextID    int
	responses map[string]chan wsResp
	events    chan map[string]any
	samples   []int16
	firstRTP  time.Time
	packets   []heardPacket
	closed    chan struct{}
	readers   sync.WaitGroup
}

func newGoBrowser(t *testing.T, base, token string) *goBrowser {
	t.Helper()
	b := &goBrowser{t: t, responses: map[string]chan wsResp{}, events: make(chan map[string]any, 256), closed: make(chan struct{})}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", http.Header{"Origin": {"https://crm.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	b.ws = ws
	b.readers.Add(1)
	go b.readLoop()
	if r := b.request("login", map[string]string{"token": token}); r.Error != nil {
		t.Fatalf("login: %+v", r.Error)
	}

	var me pionwebrtc.MediaEngine
	me.RegisterCodec(pionwebrtc.RTPCodecParameters{RTPCodecCapability: pionwebrtc.RTPCodecCapability{MimeType: pionwebrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0}, pionwebrtc.RTPCodecTypeAudio)
	var se pionwebrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]pionwebrtc.NetworkType{pionwebrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := pionwebrtc.NewAPI(pionwebrtc.WithMediaEngine(&me), pionwebrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(pionwebrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	b.pc = pc
	b.track, _ = pionwebrtc.NewTrackLocalStaticRTP(pionwebrtc.RTPCodecCapability{MimeType: pionwebrtc.MimeTypePCMU, ClockRate: 8000}, "mic", "browser")
	if _, err := pc.AddTrack(b.track); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(remote *pionwebrtc.TrackRemote, _ *pionwebrtc.RTPReceiver) {
		b.readers.Add(1)
		defer b.readers.Done()
		for {
			p, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			b.mu.Lock()
			if b.firstRTP.IsZero() {
				b.firstRTP = time.Now()
			}
			pcm := g711.DecodeULawFrame(make([]int16, len(p.Payload)), p.Payload)
			b.samples = append(b.samples, pcm...)
			b.packets = append(b.packets, heardPacket{at: time.Now(), pcm: pcm})
			b.mu.Unlock()
		}
	})
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s pionwebrtc.PeerConnectionState) {
		if s == pionwebrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	offer, _ := pc.CreateOffer(nil)
	gathered := pionwebrtc.GatheringCompletePromise(pc)
	pc.SetLocalDescription(offer)
	<-gathered
	r := b.request("media.offer", map[string]string{"sdp": pc.LocalDescription().SDP})
	if r.Error != nil {
		t.Fatalf("media.offer: %+v", r.Error)
	}
	if err := pc.SetRemoteDescription(pionwebrtc.SessionDescription{Type: pionwebrtc.SDPTypeAnswer, SDP: r.Result["sdp"].(string)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("WebRTC did not connect")
	}
	b.readers.Add(1)
	go b.sendTone(440)
	t.Cleanup(b.close)
	return b
}

func (b *goBrowser) sendTone(hz float64) {
	defer b.readers.Done()
	tone := g711.NewTone(hz, 8000, 8000)
	pcm := make([]int16, 160)
	payload := make([]byte, 160)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-b.closed:
			return
		case <-tick.C:
		}
		tone.Fill(pcm)
		g711.EncodeULawFrame(payload, pcm)
		b.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 777}, Payload: payload})
	}
}

func (b *goBrowser) readLoop() {
	defer b.readers.Done()
	for {
		_, data, err := b.ws.ReadMessage()
		if err != nil {
			return
		}
		var msg map[string]any
		json.Unmarshal(data, &msg)
		if _, ok := msg["event"]; ok {
			select {
			case b.events <- msg:
			default:
			}
			continue
		}
		var r wsResp
		json.Unmarshal(data, &r)
		b.mu.Lock()
		ch := b.responses[r.ID]
		b.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

func (b *goBrowser) request(method string, params any) wsResp {
	b.t.Helper()
	b.mu.Lock()
	b.nextID++
	id := method + "-" + string(rune('a'+b.nextID%26)) + time.Now().Format("150405.000000")
	ch := make(chan wsResp, 1)
	b.responses[id] = ch
	b.mu.Unlock()
	if err := b.ws.WriteJSON(map[string]any{"v": 1, "id": id, "method": method, "params": params}); err != nil {
		b.t.Fatal(err)
	}
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		b.t.Fatalf("no response to %s", method)
		return wsResp{}
	}
}

// waitCallState returns the time the call.state event with state arrived.
func (b *goBrowser) waitCallState(state string) (map[string]any, time.Time) {
	b.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-b.events:
			if ev["event"] != "call.state" {
				continue
			}
			data := ev["data"].(map[string]any)
			if data["state"] == state {
				return data, time.Now()
			}
		case <-timeout:
			b.t.Fatalf("no call.state %q", state)
		}
	}
}

func (b *goBrowser) received() ([]int16, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int16(nil), b.samples...), b.firstRTP
}

type heardPacket struct {
	at  time.Time
	pcm []int16
}

// firstTone returns when the first packet dominated by hz arrived (ringback,
// 440+480 Hz, does not count).
func (b *goBrowser) firstTone(hz float64) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.packets {
		if len(p.pcm) < 160 {
			continue
		}
		want := g711.GoertzelPower(p.pcm, hz, 8000)
		if want > 0.01 && want > 4*(g711.GoertzelPower(p.pcm, 440, 8000)+g711.GoertzelPower(p.pcm, 480, 8000)) {
			return p.at
		}
	}
	return time.Time{}
}

func (b *goBrowser) close() {
	select {
	case <-b.closed:
		return
	default:
	}
	close(b.closed)
	b.ws.Close()
	b.pc.Close()
	b.readers.Wait()
}

func lastSecondHz(samples []int16) float64 {
	if len(samples) > 8000 {
		samples = samples[len(samples)-8000:]
	}
	f, _ := aritest.DominantFrequency(samples, 8000)
	return f
}

func TestOutboundCallThroughRealRelay(t *testing.T) {
	sim := aritest.New(t)
	defer sim.Close()
	sim.SetFarEnd("5551001", aritest.FarEnd{Ring: true, Outcome: aritest.Answer,
		AnswerAfter: 400 * time.Millisecond, Media: aritest.Tone{Frequency: 1000}})
	hooks := newHookReceiver(t)
	cfg := testConfig(t)
	cfg.ARI.URL, cfg.ARI.Username, cfg.ARI.Password = sim.URL(), sim.Username(), sim.Password()
	cfg.Webhooks.URL, cfg.Webhooks.Secret = hooks.url, hooks.secret
	ta := startApp(t, cfg)
	deadline := time.Now().Add(5 * time.Second)
	for !ta.ari.State().Connected {
		if time.Now().After(deadline) {
			t.Fatal("ARI not connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b := newGoBrowser(t, ta.base, mintV2(t, func(c *tokens.Claims) { c.DialPatterns = nil }))
	dialAt := time.Now()
	r := b.request("call", map[string]string{"number": "5551001", "crm_ref": "order-1"})
	if r.Error != nil {
		t.Fatalf("call: %+v", r.Error)
	}
	callID := r.Result["call_id"].(string)
	_, ringingAt := b.waitCallState("ringing")
	_, answeredAt := b.waitCallState("answered")
	deadline = time.Now().Add(10 * time.Second)
	for {
		s, _ := b.received()
		if len(s) > 16000 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	samples, _ := b.received()
	if f := lastSecondHz(samples); f < 985 || f > 1015 {
		t.Fatalf("browser heard %.0f Hz, want the far end's 1000 Hz (%d samples)", f, len(samples))
	}
	peer := sim.Peer("crm-f-" + callID)
	if peer == nil {
		t.Fatal("no far end")
	}
	if f := lastSecondHz(peer.Received()); f < 425 || f > 455 {
		t.Fatalf("far end heard %.0f Hz, want the operator's 440 Hz", f)
	}
	firstFar := b.firstTone(1000)
	if firstFar.IsZero() {
		t.Fatal("no packet of the far end's tone identified")
	}
	// The far end rings at once and answers 400 ms after the dial: what is
	// above those is crmphone (plus the simulator and loopback).
	t.Logf("measured: dial→ringing event %v; answer→first far-end audio packet in the browser %v (answered event reached the browser %v after the scripted answer)",
		ringingAt.Sub(dialAt), firstFar.Sub(dialAt.Add(400*time.Millisecond)), answeredAt.Sub(dialAt.Add(400*time.Millisecond)))

	if r := b.request("dtmf", map[string]string{"call_id": callID, "digits": "5#"}); r.Error != nil {
		t.Fatalf("dtmf: %+v", r.Error)
	}
	if r := b.request("hangup", map[string]string{"call_id": "nope"}); r.Error == nil || r.Error.Code != "unknown_call" {
		t.Fatalf("unknown call: %+v", r)
	}
	if r := b.request("call", map[string]string{"number": "12&34"}); r.Error == nil || r.Error.Code != "invalid_number" {
		t.Fatalf("hostile number: %+v", r)
	}
	if r := b.request("hangup", map[string]string{"call_id": callID}); r.Error != nil {
		t.Fatalf("hangup: %+v", r.Error)
	}
	end, _ := b.waitCallState("ended")
	if end["cause"] != "local_hangup" {
		t.Fatalf("end = %v", end)
	}
	deadline = time.Now().Add(5 * time.Second)
	for len(sim.Channels())+len(sim.Bridges()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("left behind: %v %v", sim.Channels(), sim.Bridges())
		}
		time.Sleep(10 * time.Millisecond)
	}
	rec, err := ta.store.GetCall(context.Background(), callID)
	if err != nil || rec.Cause != "local_hangup" || rec.OperatorID != "op-17" || rec.CRMRef != "order-1" || rec.Codec != "PCMU" ||
		!strings.Contains(rec.MediaStats, "packets") {
		t.Fatalf("record %+v %v", rec, err)
	}
	if peer.DTMFReceived() != "5#" {
		t.Fatalf("far end DTMF = %q", peer.DTMFReceived())
	}
	got := hooks.wait(t, 2)
	if got[0].Type != "call.answered" || got[1].Type != "call.ended" {
		t.Fatalf("webhooks %+v", got)
	}
	ended := got[1].Data.(map[string]any)
	if ended["cause"] != "local_hangup" || ended["call_id"] != callID || ended["crm_ref"] != "order-1" {
		t.Fatalf("call.ended payload %v", ended)
	}
}

// hookReceiver is the CRM's webhook endpoint; it verifies every signature.
type hookReceiver struct {
	url, secret string
	mu          sync.Mutex
	got         []webhooks.Envelope
	bad         int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{secret: "0123456789abcdef-test-secret"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := webhooks.Verify([]byte(h.secret), r.Header.Get(webhooks.HeaderTimestamp), body, r.Header.Get(webhooks.HeaderSignature), time.Minute); err != nil {
			h.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var env webhooks.Envelope
		json.Unmarshal(body, &env)
		h.got = append(h.got, env)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/hooks"
	return h
}

func (h *hookReceiver) wait(t *testing.T, n int) []webhooks.Envelope {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		h.mu.Lock()
		got, bad := append([]webhooks.Envelope(nil), h.got...), h.bad
		h.mu.Unlock()
		if bad > 0 {
			t.Fatalf("%d webhooks failed signature verification", bad)
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d webhooks, want %d: %+v", len(got), n, got)
		}
	}
}

// TestMissedCallBecomesTaskClosedByCallBack: nobody is online for a call, so
// it is missed and becomes a callback task; an operator calls the number
// back, and the answered call closes the task (with its webhooks).
func TestMissedCallBecomesTaskClosedByCallBack(t *testing.T) {
	sim := aritest.New(t)
	defer sim.Close()
	hooks := newHookReceiver(t)
	cfg := testConfig(t)
	cfg.ARI.URL, cfg.ARI.Username, cfg.ARI.Password = sim.URL(), sim.Username(), sim.Password()
	cfg.Webhooks.URL, cfg.Webhooks.Secret = hooks.url, hooks.secret
	ta := startApp(t, cfg)
	for deadline := time.Now().Add(5 * time.Second); !ta.ari.State().Connected; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("ARI not connected")
		}
	}
	if err := ta.store.PutRoutingTarget(context.Background(), store.RoutingTarget{ID: "sales", Members: []string{"op-17"},
		Strategy: "ring_all", RingTimeoutS: 5, MemberTimeoutS: 5, OnNoAnswer: "continue"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.InjectInbound(context.Background(), aritest.InboundCall{CallerNumber: "5557777", Exten: "100", Args: []string{"inbound", "sales"}}); err != nil {
		t.Fatal(err)
	}
	var tasks []store.CallbackTask
	for deadline := time.Now().Add(5 * time.Second); len(tasks) == 0; time.Sleep(20 * time.Millisecond) {
		tasks, _ = ta.store.OpenTasks(context.Background(), nil)
		if time.Now().After(deadline) {
			t.Fatal("no callback task for the missed call")
		}
	}
	if tasks[0].Reason != "nobody_available" || tasks[0].Number != "5557777" {
		t.Fatalf("task %+v", tasks[0])
	}

	b := newGoBrowser(t, ta.base, mintV2(t, func(c *tokens.Claims) { c.DialPatterns = nil }))
	if r := b.request("tasks.list", map[string]any{}); r.Error != nil || len(r.Result["tasks"].([]any)) != 1 {
		t.Fatalf("tasks.list %+v", r)
	}
	sim.SetFarEnd("5557777", aritest.FarEnd{Outcome: aritest.Answer, AnswerAfter: 50 * time.Millisecond})
	r := b.request("call", map[string]string{"number": "5557777"})
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	b.waitCallState("answered")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		open, _ := ta.store.OpenTasks(context.Background(), nil)
		if len(open) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the answered call back did not close the task")
		}
	}
	closed, _ := ta.store.GetTask(context.Background(), tasks[0].ID)
	if closed.ClosedBy != "auto" || closed.ClosedReason != "called_back" || closed.ClosedCall != r.Result["call_id"] {
		t.Fatalf("closed task %+v", closed)
	}
	b.request("hangup", map[string]string{"call_id": r.Result["call_id"].(string)})
	b.waitCallState("ended")
	var types []string
	for _, h := range hooks.wait(t, 5) {
		types = append(types, h.Type)
	}
	if strings.Join(types, ",") != "call.offered,call.missed,call.answered,task.closed,call.ended" {
		t.Fatalf("webhooks %v", types)
	}
}
