package webrtc

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmphone/crmphone/webrtc/g711"
)

// chromePage creates one RTCPeerConnection per mode with the fake microphone (a 1 kHz WAV), posts the
// complete offer and applies the answer. Mode "pcmu" restricts the offer to PCMU with
// setCodecPreferences; mode "g722" sends Chrome's default offer.
const chromePage = `<!doctype html><html><body><script>
window.pcs = {};
window.analysers = {};
window.run = async (mode) => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const pc = new RTCPeerConnection();
  const tr = pc.addTransceiver(stream.getAudioTracks()[0], {direction: 'sendrecv', streams: [stream]});
  if (mode === 'pcmu') {
    tr.setCodecPreferences(RTCRtpReceiver.getCapabilities('audio').codecs.filter(c => c.mimeType === 'audio/PCMU'));
  }
  pc.ontrack = (ev) => {
    const remote = new MediaStream([ev.track]);
    const el = new Audio(); el.srcObject = remote; el.muted = true; el.play();
    const ctx = new AudioContext();
    const an = ctx.createAnalyser(); an.fftSize = 8192;
    ctx.createMediaStreamSource(remote).connect(an);
    window.analysers[mode] = {an, ctx};
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
  });
  const res = await fetch('/offer?mode=' + mode, {method: 'POST', body: pc.localDescription.sdp});
  if (!res.ok) throw new Error(await res.text());
  await pc.setRemoteDescription({type: 'answer', sdp: await res.text()});
  window.pcs[mode] = pc;
  return 'ok';
};
window.peakHz = (mode) => {
  const a = window.analysers[mode]; if (!a) return -1;
  const bins = new Float32Array(a.an.frequencyBinCount); a.an.getFloatFrequencyData(bins);
  let best = 0; for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  return bins[best] > -80 ? best * a.ctx.sampleRate / a.an.fftSize : 0;
};
window.inbound = async (mode) => {
  let packets = 0;
  (await window.pcs[mode].getStats()).forEach((s) => { if (s.type === 'inbound-rtp') packets = s.packetsReceived; });
  return packets;
};
</script></body></html>`

// TestChromeInterop runs the session against a real Chromium (skipped when there is none, or with -short):
// Chrome's default offer gets G722; a PCMU-only offer carries a 1 kHz tone both ways.
func TestChromeInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium binary")
	}
	e := newTestEngine(t)
	sessions := map[string]*Session{}
	for _, mode := range []string{"g722", "pcmu"} {
		s, err := e.NewSession(context.Background(), "chrome-"+mode)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		sessions[mode] = s
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, chromePage) })
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, r *http.Request) {
		offer, _ := io.ReadAll(r.Body)
		answer, err := sessions[r.URL.Query().Get("mode")].Answer(r.Context(), string(offer))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, answer)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	wav := filepath.Join(t.TempDir(), "tone.wav")
	writeToneWAV(t, wav, 1000, 48000, 20*time.Second)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", wav),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	cctx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	if err := chromedp.Do(cctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	for mode, s := range sessions {
		states := &stateLog{changed: make(chan struct{}, 100)}
		s.OnStateChange(states.add)
		if res, err := chromedp.Run(cctx, chromedp.Evaluate[string](`run("`+mode+`")`, chromedp.EvalAwaitPromise)); err != nil || res != "ok" {
			t.Fatalf("%s: run: %q %v", mode, res, err)
		}
		states.waitFor(t, StateConnected)
	}

	t.Run("default offer negotiates G722", func(t *testing.T) {
		s := sessions["g722"]
		if s.Codec() != CodecG722 {
			t.Fatalf("codec %+v, want G722", s.Codec())
		}
		leg, err := s.AttachCall(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer leg.Close()
		ast := newFakeAsterisk(t)
		if err := leg.SetRemote(ast.addr()); err != nil {
			t.Fatal(err)
		}
		var prevSeq uint16
		var prevTS uint32
		audible := 0
		for i := range 50 {
			p, _ := ast.next(t)
			if p.PayloadType != 9 || len(p.Payload) != 160 {
				t.Fatalf("packet %d: PT %d, %d bytes; want G722 PT 9, 160 bytes", i, p.PayloadType, len(p.Payload))
			}
			if i > 0 && (p.SequenceNumber != prevSeq+1 || p.Timestamp != prevTS+160) {
				t.Fatalf("packet %d seq %d ts %d after %d %d", i, p.SequenceNumber, p.Timestamp, prevSeq, prevTS)
			}
			if !bytes.Equal(p.Payload, bytes.Repeat([]byte{G722Silence}, 160)) {
				audible++
			}
			prevSeq, prevTS = p.SequenceNumber, p.Timestamp
		}
		if audible < 40 {
			t.Errorf("only %d of 50 packets from Chrome carry audio", audible)
		}
		for i := range 50 {
			ast.send(t, leg.LocalAddr(), uint16(i), uint32(160*i), 77, bytes.Repeat([]byte{G722Silence}, 160))
		}
		waitFor(t, func() bool {
			n, err := chromedp.Run(cctx, chromedp.Evaluate[int](`inbound("g722")`, chromedp.EvalAwaitPromise))
			return err == nil && n >= 50
		}, "Chrome counted 50 inbound G722 packets")
	})

	t.Run("PCMU tone both ways", func(t *testing.T) {
		s := sessions["pcmu"]
		if s.Codec() != CodecPCMU {
			t.Fatalf("codec %+v, want PCMU", s.Codec())
		}
		leg, err := s.AttachCall(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer leg.Close()
		ast := newFakeAsterisk(t)
		if err := leg.SetRemote(ast.addr()); err != nil {
			t.Fatal(err)
		}
		var pcm []int16
		for range 50 {
			p, _ := ast.next(t)
			pcm = append(pcm, g711.DecodeULawFrame(make([]int16, 160), p.Payload)...)
		}
		if f := g711.DominantFrequency(pcm[len(pcm)/2:], 8000, 440, 800, 1000, 1200, 2000); f != 1000 {
			t.Errorf("Asterisk side heard %v Hz from Chrome's 1 kHz microphone", f)
		}

		// Far party: 600 Hz from "Asterisk", paced at 20 ms.
		tone := ulawTone(600, 100)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				ast.send(t, leg.LocalAddr(), uint16(i), uint32(160*i), 99, tone[i%len(tone)])
			}
		}()
		defer func() { close(stop); <-done }()
		waitFor(t, func() bool {
			hz, err := chromedp.Run(cctx, chromedp.Evaluate[float64](`peakHz("pcmu")`))
			return err == nil && math.Abs(hz-600) < 10
		}, "Chrome's analyser found the 600 Hz tone")
	})
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not reached: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeToneWAV(t *testing.T, path string, freq float64, rate int, d time.Duration) {
	t.Helper()
	samples := make([]int16, int(d.Seconds()*float64(rate)))
	g711.NewTone(freq, float64(rate), 8000).Fill(samples)
	var buf bytes.Buffer
	dataLen := uint32(2 * len(samples))
	buf.WriteString("RIFF")
	_ = binary.Write(&buf, binary.LittleEndian, 36+dataLen)
	buf.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		_ = binary.Write(&buf, binary.LittleEndian, v) // fmt chunk: PCM, mono, rate, byte rate, align, bits
	}
	buf.WriteString("data")
	_ = binary.Write(&buf, binary.LittleEndian, dataLen)
	_ = binary.Write(&buf, binary.LittleEndian, samples)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
