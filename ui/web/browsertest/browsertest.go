// Package browsertest drives a headless Chromium for tests of crmphone's browser side: the softphone page,
// the JS SDK and real WebRTC audio. It skips the test (naming the Debian package) when chromium or sox is
// missing, gives the browser a fake microphone playing a sine tone, and fails the test with the page's
// console output when a wait times out.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Keys for Press.
const (
	Enter  = kb.Enter
	Escape = kb.Escape
	Tab    = kb.Tab
)

// Options configure the browser.
type Options struct {
	// MicToneHz is the frequency of the sine the fake microphone plays (default 440).
	MicToneHz int
	// MicWAV is a 48 kHz mono 16-bit WAV to play as the microphone instead of a generated tone.
	MicWAV string
	// Wait bounds every wait (WaitFor, Open, RemoteToneHz); default 20 s. Only a guard against hangs.
	Wait time.Duration
	// Flags are extra Chromium command-line flags.
	Flags map[string]any
}

// Browser is one tab of a headless Chromium. Tabs made with NewTab share the process.
type Browser struct {
	t       testing.TB
	ctx     context.Context
	cancel  context.CancelFunc
	wait    time.Duration
	console *consoleLog
}

type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

func (c *consoleLog) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) < 500 {
		c.lines = append(c.lines, s)
	}
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// ChromiumPath returns the chromium binary, or skips the test.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed: apt-get install chromium")
	}
	return p
}

// MicWAV writes a 60 s sine of hz to a WAV in t.TempDir() with sox, or skips the test.
func MicWAV(t testing.TB, hz int) string {
	t.Helper()
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed (it makes the fake microphone's WAV): apt-get install sox")
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("tone-%d.wav", hz))
	out, err := exec.Command(sox, "-n", "-r", "48000", "-c", "1", "-b", "16", path,
		"synth", "60", "sine", fmt.Sprint(hz), "vol", "0.5").CombinedOutput()
	if err != nil {
		t.Fatalf("sox: %v: %s", err, out)
	}
	return path
}

// New starts Chromium with a fresh profile in t.TempDir() and opens one tab. The browser is closed (and
// its process reaped) when the test ends.
func New(t testing.TB, opts Options) *Browser {
	t.Helper()
	chromium := ChromiumPath(t)
	wav := opts.MicWAV
	if wav == "" {
		hz := opts.MicToneHz
		if hz == 0 {
			hz = 440
		}
		wav = MicWAV(t, hz)
	}
	if opts.Wait == 0 {
		opts.Wait = 20 * time.Second
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", wav),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Tests may only use loopback; Chromium leaves it out of ICE candidates unless told.
		chromedp.Flag("allow-loopback-in-peer-connection", true),
	}
	for k, v := range opts.Flags {
		flags = append(flags, chromedp.Flag(k, v))
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:], flags...)...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx, wait: opts.Wait, console: &consoleLog{}}
	b.cancel = func() { cancel(); allocCancel() }
	t.Cleanup(b.cancel) // cancelling the allocator kills chromium and waits for it
	// The first Run starts the browser; it must not run under a timeout (that would end the browser).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	b.followConsole()
	return b
}

// NewTab opens another tab in the same browser; it closes when the test ends.
func (b *Browser) NewTab(t testing.TB) *Browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	nb := &Browser{t: t, ctx: ctx, cancel: cancel, wait: b.wait, console: &consoleLog{}}
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	nb.followConsole()
	return nb
}

// followConsole keeps the tab's console output for failure messages.
func (b *Browser) followConsole() {
	messages := chromedp.Console(b.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.console.add(m.String())
		}
	}()
	b.t.Cleanup(func() {
		b.cancel()
		<-done
	})
}

// Context is the tab's chromedp context, for actions this package does not wrap.
func (b *Browser) Context() context.Context { return b.ctx }

// Console returns what the page has written to its console so far.
func (b *Browser) Console() string { return b.console.String() }

// Close closes the tab (for New: the whole browser) before the test ends.
func (b *Browser) Close() { b.cancel() }

func (b *Browser) fatalf(format string, args ...any) {
	b.t.Helper()
	b.t.Fatalf(format+"\n--- browser console:\n%s", append(args, b.console.String())...)
}

// Do runs chromedp actions on the tab, failing the test on error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.wait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatalf("browser: %v", err)
	}
}

// Open navigates the tab to url and waits for the document to load.
func (b *Browser) Open(url string) {
	b.t.Helper()
	b.Do(chromedp.Navigate(url))
	b.WaitFor(`document.readyState === "complete"`, "page "+url+" loaded")
}

// EvalErr evaluates a JavaScript expression (awaiting a promise) and decodes its JSON value into T.
func EvalErr[T any](b *Browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, b.wait)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// Eval is EvalErr failing the test on error.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	v, err := EvalErr[T](b, expr)
	if err != nil {
		b.fatalf("eval %s: %v", expr, err)
	}
	return v
}

// WaitFor polls the JavaScript condition until it is truthy; after the wait limit the test fails with
// what (a description), the last error and the console.
func (b *Browser) WaitFor(cond, what string) {
	b.t.Helper()
	deadline := time.Now().Add(b.wait)
	var lastErr error
	for {
		ok, err := EvalErr[bool](b, "!!("+cond+")")
		if err == nil && ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.fatalf("timed out waiting for %s (%s); last error: %v", what, cond, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Text returns the textContent of the first element matching the CSS selector ("" if none).
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	return Eval[string](b, fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? "")`, jsString(selector)))
}

// WaitText waits until the element's textContent contains want.
func (b *Browser) WaitText(selector, want string) {
	b.t.Helper()
	b.WaitFor(fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? "").includes(%s)`, jsString(selector), jsString(want)),
		fmt.Sprintf("%s to show %q (shows %q)", selector, want, b.Text(selector)))
}

// Click clicks the element (real mouse events at its position).
func (b *Browser) Click(selector string) {
	b.t.Helper()
	b.Do(chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// Type focuses the element and types text as key presses.
func (b *Browser) Type(selector, text string) {
	b.t.Helper()
	b.Do(chromedp.Focus(chromedp.CSS(selector), chromedp.NodeVisible), chromedp.KeyEvent(text))
}

// Press sends key presses to the focused element (e.g. browsertest.Enter, browsertest.Escape, "5").
func (b *Browser) Press(keys string) {
	b.t.Helper()
	b.Do(chromedp.KeyEvent(keys))
}

// PressAlt sends key presses with the Alt modifier held (e.g. "a" for Alt+A; the page sees code "KeyA").
func (b *Browser) PressAlt(keys string) {
	b.t.Helper()
	b.Do(chromedp.KeyEvent(keys, chromedp.KeyModifiers(chromedp.ModifierAlt)))
}

// ToneResult is what RemoteToneHz found.
type ToneResult struct {
	Hz float64 `json:"hz"` // frequency of the strongest FFT bin
	DB float64 `json:"db"` // its level, dBFS
}

// RemoteToneHz analyses the MediaStream that streamExpr evaluates to (e.g.
// "window.crmphone.phone.audioElement.srcObject") with a WebAudio AnalyserNode and returns the dominant
// frequency once the audio is clearly not silence (peak above -60 dBFS), failing the test if it stays silent.
// Chromium only feeds a remote WebRTC stream to WebAudio while a media element plays it, so a muted element
// is attached too.
func (b *Browser) RemoteToneHz(streamExpr string) float64 {
	b.t.Helper()
	js := `(async () => {
  const stream = ` + streamExpr + `;
  if (!(stream instanceof MediaStream)) throw new Error("not a MediaStream");
  const sink = new Audio(); sink.muted = true; sink.srcObject = stream;
  try { await sink.play(); } catch (e) {}
  const ctx = new AudioContext();
  try {
    await ctx.resume();
    const an = ctx.createAnalyser();
    an.fftSize = 8192; an.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(stream).connect(an);
    const bins = new Float32Array(an.frequencyBinCount);
    let best = {hz: 0, db: -Infinity};
    for (let i = 0; i < 40; i++) {
      await new Promise(r => setTimeout(r, 250));
      an.getFloatFrequencyData(bins);
      let k = 1;
      for (let j = 1; j < bins.length; j++) if (bins[j] > bins[k]) k = j;
      best = {hz: k * ctx.sampleRate / an.fftSize, db: bins[k]};
      if (best.db > -60 && i >= 2) return best;
    }
    return {hz: best.hz, db: Number.isFinite(best.db) ? best.db : -999};
  } finally { sink.srcObject = null; ctx.close(); }
})()`
	raw := Eval[json.RawMessage](b, js)
	var res ToneResult
	if err := json.Unmarshal(raw, &res); err != nil {
		b.fatalf("tone analysis result %s: %v", raw, err)
	}
	if res.DB <= -60 {
		b.fatalf("remote audio stayed silent (strongest bin %.0f Hz at %.1f dBFS)", res.Hz, res.DB)
	}
	return res.Hz
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
