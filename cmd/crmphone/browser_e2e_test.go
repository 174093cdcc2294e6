package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crmphone/crmphone/ari/aritest"
	"github.com/crmphone/crmphone/controller/config"
	"github.com/crmphone/crmphone/controller/store"
	"github.com/crmphone/crmphone/tokens"
	"github.com/crmphone/crmphone/ui/web/browsertest"
)

// onlyCodecJS makes the page's RTCPeerConnection offer a single audio codec,
// so that one test run covers one codec end to end.
func onlyCodecJS(name string) string {
	return `(() => {
  const keep = ` + fmt.Sprintf("%q", name) + `;
  const strip = (sdp) => {
    const lines = sdp.split("\r\n");
    const pts = [];
    for (const l of lines) {
      const m = /^a=rtpmap:(\d+) ([^/]+)\//.exec(l);
      if (m && m[2].toUpperCase() !== keep && !/^(telephone-event|CN)$/i.test(m[2])) pts.push(m[1]);
    }
    const drop = (l) => pts.some(pt => l.startsWith("a=rtpmap:" + pt + " ") || l.startsWith("a=fmtp:" + pt + " ") || l.startsWith("a=rtcp-fb:" + pt + " "));
    return lines.filter(l => !drop(l)).map(l => l.startsWith("m=audio")
      ? l.split(" ").filter((f, i) => i < 3 || !pts.includes(f)).join(" ") : l).join("\r\n");
  };
  const orig = RTCPeerConnection.prototype.createOffer;
  RTCPeerConnection.prototype.createOffer = async function (...args) {
    const o = await orig.apply(this, args);
    return { type: o.type, sdp: strip(o.sdp) };
  };
  return true;
})()`
}

// startSimApp starts the controller on a fixed free port (browsers need the
// origin in http.allowed_origins) in front of the ARI simulator, and waits
// for the ARI link. mutate adjusts the configuration first.
func startSimApp(t *testing.T, sim *aritest.Server, mutate func(*config.Config)) (*testApp, string) {
	t.Helper()
	cfg := testConfig(t)
	port := freePort(t)
	cfg.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", port)
	origin := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg.HTTP.AllowedOrigins = []string{origin}
	cfg.ARI.URL, cfg.ARI.Username, cfg.ARI.Password = sim.URL(), sim.Username(), sim.Password()
	if mutate != nil {
		mutate(&cfg)
	}
	ta := startApp(t, cfg)
	for deadline := time.Now().Add(5 * time.Second); !ta.ari.State().Connected; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("ARI not connected")
		}
	}
	return ta, origin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestBrowserOutboundCall(t *testing.T) {
	for _, codec := range []string{"PCMU", "G722"} {
		t.Run(codec, func(t *testing.T) {
			browserOutboundCall(t, codec)
		})
	}
}

func browserOutboundCall(t *testing.T, codec string) {
	sim := aritest.New(t)
	defer sim.Close()
	sim.SetFarEnd("5551001", aritest.FarEnd{Ring: true, RingAfter: 50 * time.Millisecond, Outcome: aritest.Answer,
		AnswerAfter: 700 * time.Millisecond, Media: aritest.Tone{Frequency: 1000}})
	sim.SetFarEnd("5551002", aritest.FarEnd{Outcome: aritest.Answer, AnswerAfter: 100 * time.Millisecond,
		Media: aritest.Tone{Frequency: 1000}, HangupAfter: 8 * time.Second})

	ta, origin := startSimApp(t, sim, nil)

	b := browsertest.New(t, browsertest.Options{MicToneHz: 440})
	tab := b.NewTab(t)
	tab.Open(origin + "/phone/")
	browsertest.Eval[bool](tab, onlyCodecJS(codec))
	tab.Type("#token", mintV2(t, func(c *tokens.Claims) { c.DialPatterns = nil }))
	tab.Press(browsertest.Enter)
	tab.WaitText("#operator", "Ann")
	tab.WaitFor(`window.crmphone.phone?.peerConnection?.connectionState === "connected"`, "the media path")

	// Call 1: rings, answered, tones both ways, the operator hangs up.
	tab.Type("#number", "5551001")
	tab.Press(browsertest.Enter)
	tab.WaitFor(`document.querySelector("#call-state").dataset.state === "ringing"`, "ringing")
	tab.WaitFor(`document.querySelector("#call-state").dataset.state === "answered"`, "answered")
	calls, err := ta.store.ListCalls(context.Background(), store.CallFilter{OnlyOpen: true})
	if err != nil || len(calls) != 1 {
		t.Fatalf("open calls %v %v", calls, err)
	}
	call := calls[0]
	if hz := remoteToneHz(t, tab); math.Abs(hz-1000) > 25 {
		t.Fatalf("browser heard %.0f Hz, want the far end's 1000 Hz", hz)
	}
	peer := sim.Peer(call.FarChannelID)
	for deadline := time.Now().Add(10 * time.Second); len(peer.Received()) < 16000; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("far end heard only %d samples", len(peer.Received()))
		}
	}
	if hz := lastSecondHz(peer.Received()); math.Abs(hz-440) > 20 {
		t.Fatalf("far end heard %.0f Hz, want the operator's 440 Hz", hz)
	}
	tab.Press(browsertest.Escape)
	tab.WaitFor(`document.querySelector("#call-state").dataset.state === "ended"`, "ended")
	waitSimEmpty(t, sim)
	rec, err := ta.store.GetCall(context.Background(), call.ID)
	if err != nil || rec.Cause != "local_hangup" || rec.HangupBy != "operator" || rec.Codec != codec || rec.AnsweredAt == nil ||
		!strings.Contains(rec.MediaStats, "packets") {
		t.Fatalf("record %+v %v", rec, err)
	}

	// Call 2 on the same warm media path: the far end hangs up.
	browsertest.Eval[bool](tab, `(document.querySelector("#number").value = "", true)`) // the page keeps the last number for redial
	tab.Type("#number", "5551002")
	tab.Press(browsertest.Enter)
	tab.WaitFor(`document.querySelector("#call-state").dataset.state === "answered"`, "second call answered")
	if hz := remoteToneHz(t, tab); math.Abs(hz-1000) > 25 {
		t.Fatalf("second call: browser heard %.0f Hz", hz)
	}
	tab.WaitFor(`document.querySelector("#call-state").dataset.state === "ended"`, "far end hung up")
	waitSimEmpty(t, sim)
	all, _ := ta.store.ListCalls(context.Background(), store.CallFilter{})
	if len(all) != 2 || all[0].Cause != "remote_hangup" || all[0].HangupBy != "remote" {
		t.Fatalf("records %+v", all)
	}
	if n := browsertest.Eval[int](tab, `window.crmphone.phone.peerConnection.getStats().then(s => { let n = 0; s.forEach(r => { if (r.type === "inbound-rtp" && r.kind === "audio") n = r.packetsReceived; }); return n; })`); n < 100 {
		t.Fatalf("browser received only %d RTP packets", n)
	}
}

// remoteToneHz is the dominant frequency of the far end's audio as the
// browser receives it, from a WebAudio analyser on the receiver's track.
func remoteToneHz(t *testing.T, tab *browsertest.Browser) float64 {
	t.Helper()
	// One analyser per attempt, read once after 1.5 s. (Kept on one line: a
	// variant with a polling loop read silence in Chromium 156 headless.)
	const js = `(async () => { const tr = window.crmphone.phone.peerConnection.getReceivers()[0].track; const st = new MediaStream([tr]); const sink = new Audio(); sink.muted = true; sink.srcObject = st; try { await sink.play(); } catch (e) {} const ctx = new AudioContext(); await ctx.resume(); const an = ctx.createAnalyser(); an.fftSize = 8192; ctx.createMediaStreamSource(st).connect(an); const bins = new Float32Array(an.frequencyBinCount); await new Promise(r => setTimeout(r, 1500)); an.getFloatFrequencyData(bins); let k = 1; for (let j = 1; j < bins.length; j++) if (bins[j] > bins[k]) k = j; return [k * ctx.sampleRate / an.fftSize, bins[k], ctx.state]; })()`
	var res []any
	for attempt := 0; attempt < 5; attempt++ {
		res, _ = browsertest.Eval[any](tab, js).([]any)
		if len(res) == 3 {
			hz, _ := res[0].(float64)
			db, ok := res[1].(float64)
			if ok && db > -60 {
				return hz
			}
		}
	}
	t.Fatalf("the browser's remote audio stayed silent: %v", res)
	return 0
}

func waitSimEmpty(t *testing.T, sim *aritest.Server) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(sim.Channels())+len(sim.Bridges()) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the simulator still holds channels %v bridges %v", sim.Channels(), sim.Bridges())
		}
	}
}

// TestBrowserOutboundCallRealAsterisk is the browser test against a real
// Asterisk with asterisk-conf installed: the far end is the self-test echo
// extension 9901, so the browser must hear its own 440 Hz tone come back.
func TestBrowserOutboundCallRealAsterisk(t *testing.T) {
	url := os.Getenv("CRMPHONE_TEST_ARI_URL")
	if url == "" {
		t.Skip("set CRMPHONE_TEST_ARI_URL, CRMPHONE_TEST_ARI_USER and CRMPHONE_TEST_ARI_PASSWORD to run against a real Asterisk (asterisk-conf installed)")
	}
	cfg := testConfig(t)
	port := freePort(t)
	cfg.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", port)
	origin := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg.HTTP.AllowedOrigins = []string{origin}
	cfg.ARI.URL, cfg.ARI.Username, cfg.ARI.Password = url, os.Getenv("CRMPHONE_TEST_ARI_USER"), os.Getenv("CRMPHONE_TEST_ARI_PASSWORD")
	ta := startApp(t, cfg)
	for deadline := time.Now().Add(10 * time.Second); !ta.ari.State().Connected; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ARI not connected: %+v", ta.ari.State())
		}
	}
	b := browsertest.New(t, browsertest.Options{MicToneHz: 440})
	tab := b.NewTab(t)
	tab.Open(origin + "/phone/")
	tab.Type("#token", mintV2(t, func(c *tokens.Claims) { c.DialPatterns = nil }))
	tab.Press(browsertest.Enter)
	tab.WaitFor(`window.crmphone.phone?.peerConnection?.connectionState === "connected"`, "the media path")
	tab.Type("#number", "9901")
	tab.Press(browsertest.Enter)
	tab.WaitFor(`document.querySelector("#call-state").dataset.state === "answered"`, "answered")
	if hz := remoteToneHz(t, tab); math.Abs(hz-440) > 25 {
		t.Fatalf("the echo returned %.0f Hz, want the browser's own 440 Hz", hz)
	}
	tab.Press(browsertest.Escape)
	tab.WaitFor(`document.querySelector("#call-state").dataset.state === "ended"`, "ended")
	calls, _ := ta.store.ListCalls(context.Background(), store.CallFilter{})
	if len(calls) != 1 || calls[0].Cause != "local_hangup" || calls[0].AnsweredAt == nil {
		t.Fatalf("records %+v", calls)
	}
}
