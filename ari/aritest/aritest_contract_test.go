package aritest

// Contract test: replays the HTTP requests of the transcripts recorded from a real Asterisk
// 22.10.1 (/work/shared/asterisk-reference/transcripts) against the simulator and compares
//   - the status code of every replayed request,
//   - the shape of every JSON response (field names and JSON types, recursively; values ignored),
//   - per channel (and per bridge / recording / playback) the sequence of event types,
//   - the shape of every event paired by position in those sequences.
//
// What is replayed and what is not:
//   - a (dynamic config): every HTTP line; section a5 runs with Faults.DynamicConfigForbidden
//     (Asterisk was restarted without sorcery.conf). SIP/AMI/CLI lines are not ARI and are skipped.
//   - b (externalMedia): every HTTP line. Local/playback@crm-test and Local/echo@crm-test are
//     simulated by the self-test far ends (tone / echo); the ";2" halves of Local channels
//     (otherChannelId) are not simulated, so their events are not compared. RTP lines are covered
//     by TestOutboundCallWithEarlyMediaAndAudio, not here.
//   - c (recording): section c1 (bridge recording, names with %2F, raw-slash 404). From line 63 on
//     (MixMonitor started by the dialplan, originate to context/extension) nothing is replayed:
//     the simulator has no dialplan.
//   - d (snoop): every HTTP line.
//   - e (call flows): every HTTP line; the SIPp UAC's INVITE is reproduced with InjectInbound when
//     the transcript shows its StasisStart, its BYE with Peer.Hangup when the transcript shows the
//     cause-less ChannelHangupRequest. The UAS is scripted as SIPp was (180 then 200 at once).
//   - g (create/dial): every HTTP line with far-end scripts matching each section's SIPp scenario,
//     delays shortened; dial?timeout=5 is replayed as timeout=1 (only the duration differs).
//   - f (chan_websocket) and h (timing) are not replayed: websocket media is not simulated and h
//     repeats g's flows 50 times.
// Orders that Asterisk itself produced both ways (Dial "" / Dial RINGING around ChannelStateChange
// Ringing, see g1a vs g1c and e1 vs g2e) are normalised before comparing.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const transcriptDir = "../../../shared/asterisk-reference/transcripts"

type tline struct {
	Seq         int             `json:"seq"`
	Section     string          `json:"section"`
	Kind        string          `json:"kind"`
	Method      string          `json:"method"`
	Path        string          `json:"path"`
	RequestBody json.RawMessage `json:"request_body"`
	Status      int             `json:"status"`
	Response    json.RawMessage `json:"response"`
	Event       json.RawMessage `json:"event"`
	Text        string          `json:"text"`
}

// modeledEvents are the event types the simulator produces; others (ChannelVarset,
// ChannelConnectedLine, PeerStatusChange, ...) are not compared.
var modeledEvents = map[string]bool{
	"StasisStart": true, "StasisEnd": true, "ChannelStateChange": true, "Dial": true,
	"ChannelHangupRequest": true, "ChannelDestroyed": true, "ChannelEnteredBridge": true,
	"ChannelLeftBridge": true, "BridgeDestroyed": true, "ChannelDialplan": true,
	"RecordingStarted": true, "RecordingFinished": true, "PlaybackStarted": true,
	"PlaybackFinished": true, "ChannelDtmfReceived": true,
}

type flowSpec struct {
	file    string
	skipSeq func(l tline) bool
	// farEnd returns the script of the SIPp UAS for a section.
	farEnd func(section string) FarEnd
	fault  func(section string) Faults
}

func loadTranscript(t *testing.T, name string) []tline {
	t.Helper()
	f, err := os.Open(filepath.Join(transcriptDir, name))
	if err != nil {
		t.Skipf("transcript %s not available (%v): contract test skipped", name, err)
	}
	defer f.Close()
	var out []tline
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		var l tline
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if l.Kind == "ari_event" && l.Event == nil {
			// Some transcripts store the event inline.
			var raw map[string]json.RawMessage
			_ = json.Unmarshal(sc.Bytes(), &raw)
			l.Event = sc.Bytes()
		}
		out = append(out, l)
	}
	return out
}

func sippUAS(section string) FarEnd {
	switch {
	case strings.HasPrefix(section, "e1"):
		return FarEnd{Ring: true, AnswerAfter: 5 * time.Millisecond, Echo: true}
	case section == "g1a" || section == "g1a-race" || section == "g1b":
		return FarEnd{Ring: true, RingAfter: 5 * time.Millisecond, Progress: true, ProgressAfter: 150 * time.Millisecond,
			EarlyMedia: Tone{Frequency: 400}, AnswerAfter: 400 * time.Millisecond, Media: Tone{Frequency: 1000}}
	case section == "g1c":
		return FarEnd{Ring: true, RingAfter: 5 * time.Millisecond, AnswerAfter: 300 * time.Millisecond, Media: Tone{Frequency: 1000}}
	case section == "g1e":
		return FarEnd{Progress: true, ProgressAfter: 5 * time.Millisecond, EarlyMedia: Tone{Frequency: 400},
			AnswerAfter: 300 * time.Millisecond, Media: Tone{Frequency: 1000}}
	case strings.HasPrefix(section, "g2a"), strings.HasPrefix(section, "g2c"), strings.HasPrefix(section, "g2d"):
		return FarEnd{Outcome: Busy, AnswerAfter: 30 * time.Millisecond}
	case strings.HasPrefix(section, "g2"):
		return FarEnd{Ring: true, RingAfter: 5 * time.Millisecond, Outcome: NoAnswer}
	}
	return FarEnd{Ring: true, AnswerAfter: 5 * time.Millisecond}
}

func TestContractTranscripts(t *testing.T) {
	flows := []flowSpec{
		{file: "a-dynamic-config-outbound-registration.jsonl",
			fault: func(section string) Faults { return Faults{DynamicConfigForbidden: section == "a5"} }},
		{file: "b-external-media.jsonl"},
		{file: "c-recording.jsonl", skipSeq: func(l tline) bool { return l.Seq >= 63 }},
		{file: "d-snoop.jsonl"},
		{file: "e-call-flow.jsonl", farEnd: sippUAS},
		{file: "g-create-dial-early-media.jsonl", farEnd: sippUAS},
	}
	for _, fl := range flows {
		t.Run(fl.file[:1], func(t *testing.T) {
			lines := loadTranscript(t, fl.file)
			replay(t, fl, lines)
		})
	}
}

type replayer struct {
	t       *testing.T
	srv     *Server
	c       *testClient
	alias   map[string]string // transcript id -> simulator id
	exclude map[string]bool   // transcript channel ids the simulator does not model
	want    map[string][]map[string]any
	peers   map[string]*Peer
	// diverged is set once expected events failed to arrive: later waits are short so that a
	// broken simulator fails quickly instead of timing out.
	diverged bool
}

func (r *replayer) simID(id string) string {
	if a, ok := r.alias[id]; ok {
		return a
	}
	return id
}

func eventKey(e map[string]any) string {
	switch e["type"] {
	case "BridgeDestroyed":
		return "bridge:" + e["bridge"].(map[string]any)["id"].(string)
	case "RecordingStarted", "RecordingFinished":
		return "rec:" + e["recording"].(map[string]any)["name"].(string)
	case "PlaybackStarted", "PlaybackFinished":
		return "pb:" + e["playback"].(map[string]any)["id"].(string)
	}
	return evChannelID(e)
}

func eventLabel(e map[string]any) string {
	t := e["type"].(string)
	switch t {
	case "Dial":
		return t + ":" + e["dialstatus"].(string)
	case "ChannelStateChange":
		return t + ":" + e["channel"].(map[string]any)["state"].(string)
	}
	return t
}

// normalise puts events that Asterisk emits at the same instant in both orders into one order
// (Dial "" before ChannelStateChange Ringing before Dial RINGING).
func normalise(evs []map[string]any) []map[string]any {
	rank := map[string]int{"Dial:": 1, "ChannelStateChange:Ringing": 2, "Dial:RINGING": 3}
	out := slices.Clone(evs)
	for changed := true; changed; {
		changed = false
		for i := 0; i+1 < len(out); i++ {
			a, b := rank[eventLabel(out[i])], rank[eventLabel(out[i+1])]
			if a > 0 && b > 0 && a > b {
				out[i], out[i+1] = out[i+1], out[i]
				changed = true
			}
		}
	}
	return out
}

var idRe = regexp.MustCompile(`^/ari/channels/([^/?]+)`)

func replay(t *testing.T, fl flowSpec, lines []tline) {
	srv := New(t, WithStaticEndpoints("sipp-uas"), WithStasisStartDelay(80*time.Millisecond))
	r := &replayer{t: t, srv: srv, alias: map[string]string{}, exclude: map[string]bool{},
		want: map[string][]map[string]any{}, peers: map[string]*Peer{}}
	r.c = newTestClient(t, srv, "crmphone")
	srv.SetFarEnd("playback", FarEnd{Media: Tone{Frequency: 440}})
	srv.SetFarEnd("echo", FarEnd{Echo: true})
	expected := map[string]int{}
	section := ""
	replayed, skipped := 0, 0
	for _, l := range lines {
		if l.Section != "" && l.Section != section {
			section = l.Section
			if fl.farEnd != nil {
				srv.SetFarEnd("sipp-uas", fl.farEnd(section))
			}
			if fl.fault != nil {
				srv.SetFaults(fl.fault(section))
			}
		}
		if fl.skipSeq != nil && fl.skipSeq(l) {
			if l.Kind == "http" {
				skipped++
			}
			continue
		}
		switch l.Kind {
		case "ari_event":
			var e map[string]any
			if err := json.Unmarshal(l.Event, &e); err != nil {
				t.Fatalf("seq %d: %v", l.Seq, err)
			}
			if inner, ok := e["event"].(map[string]any); ok {
				e = inner
			}
			typ, _ := e["type"].(string)
			if !modeledEvents[typ] {
				continue
			}
			key := eventKey(e)
			if r.exclude[key] || strings.HasSuffix(key, ";2") {
				continue
			}
			if typ == "StasisStart" && e["channel"].(map[string]any)["state"] == "Ring" {
				r.waitFor(expected)
				r.inject(e)
			}
			if typ == "ChannelHangupRequest" && e["cause"] == nil && r.peers[key] != nil {
				r.waitFor(expected)
				if err := r.peers[key].Hangup(); err != nil {
					t.Errorf("seq %d: remote hangup: %v", l.Seq, err)
				}
			}
			r.want[key] = append(r.want[key], e)
			expected[key]++
		case "http":
			r.waitFor(expected)
			r.doHTTP(l)
			replayed++
		}
	}
	r.waitFor(expected)
	r.compareEvents()
	t.Logf("%s: %d HTTP lines replayed, %d skipped", fl.file, replayed, skipped)
}

func (r *replayer) inject(e map[string]any) {
	ch := e["channel"].(map[string]any)
	caller := ch["caller"].(map[string]any)
	dp := ch["dialplan"].(map[string]any)
	args := []string{}
	for _, a := range e["args"].([]any) {
		args = append(args, a.(string))
	}
	p, err := r.srv.InjectInbound(context.Background(), InboundCall{ChannelID: ch["id"].(string),
		Endpoint: "sipp", CallerNumber: caller["number"].(string), CallerName: caller["name"].(string),
		Exten: dp["exten"].(string), Context: dp["context"].(string), Args: args})
	if err != nil {
		r.t.Fatalf("inject inbound: %v", err)
	}
	r.peers[ch["id"].(string)] = p
}

// waitFor waits (bounded) until the client has seen as many events per key as expected.
func (r *replayer) waitFor(expected map[string]int) {
	wait := 3 * time.Second
	if r.diverged {
		wait = 100 * time.Millisecond
	}
	deadline := time.Now().Add(wait)
	for {
		got := r.counts()
		ok := true
		for k, n := range expected {
			if got[r.simID(k)] < n {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if !r.diverged {
				r.t.Errorf("expected events did not arrive (simulator diverges from the transcript; see the event comparison)")
			}
			r.diverged = true
			return
		}
		select {
		case e, open := <-r.c.events:
			if !open {
				return
			}
			r.c.mu.Lock()
			r.c.seen = append(r.c.seen, e)
			r.c.mu.Unlock()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (r *replayer) counts() map[string]int {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	out := map[string]int{}
	for _, e := range r.c.seen {
		if modeledEvents[e["type"].(string)] {
			out[eventKey(e)]++
		}
	}
	return out
}

func (r *replayer) doHTTP(l tline) {
	t := r.t
	path := strings.Replace(l.Path, "timeout=5", "timeout=1", 1)
	if m := idRe.FindStringSubmatch(path); m != nil {
		if a, ok := r.alias[m[1]]; ok {
			path = strings.Replace(path, m[1], a, 1)
		}
	}
	if strings.Contains(path, "otherChannelId=") {
		for _, kv := range strings.Split(path[strings.Index(path, "?")+1:], "&") {
			if v, ok := strings.CutPrefix(kv, "otherChannelId="); ok {
				r.exclude[v] = true
			}
		}
	}
	var body any
	if len(l.RequestBody) > 0 && string(l.RequestBody) != "null" {
		body = json.RawMessage(l.RequestBody)
	}
	status, resp := r.c.do(l.Method, path, body)
	if status != l.Status {
		t.Errorf("seq %d %s %s: status %d, want %d (%s)", l.Seq, l.Method, l.Path, status, l.Status, resp)
		return
	}
	var want any
	if err := json.Unmarshal(l.Response, &want); err != nil || want == nil {
		return
	}
	if s, ok := want.(string); ok && strings.HasPrefix(s, "<") {
		return // binary body (WAV download): status only
	}
	var got any
	if err := json.Unmarshal(resp, &got); err != nil {
		t.Errorf("seq %d %s %s: response is not JSON: %s", l.Seq, l.Method, l.Path, resp)
		return
	}
	if wm, ok := want.(map[string]any); ok {
		if gm, ok := got.(map[string]any); ok {
			if wid, ok := wm["id"].(string); ok {
				if gid, ok := gm["id"].(string); ok && gid != wid {
					r.alias[wid] = gid
				}
			}
		}
	}
	for _, d := range shapeDiff("", want, got) {
		t.Errorf("seq %d %s %s: %s", l.Seq, l.Method, l.Path, d)
	}
}

func (r *replayer) compareEvents() {
	t := r.t
	r.c.mu.Lock()
	got := map[string][]map[string]any{}
	for _, e := range r.c.seen {
		if modeledEvents[e["type"].(string)] {
			k := eventKey(e)
			got[k] = append(got[k], e)
		}
	}
	r.c.mu.Unlock()
	keys := make([]string, 0, len(r.want))
	for k := range r.want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		want := normalise(r.want[k])
		g := normalise(got[r.simID(k)])
		wl, gl := labels(want), labels(g)
		if !slices.Equal(wl, gl) {
			t.Errorf("events of %s differ\n want %q\n  got %q", k, wl, gl)
			continue
		}
		for i := range want {
			for _, d := range shapeDiff("", want[i], g[i]) {
				t.Errorf("event %s #%d %s: %s", k, i, wl[i], d)
			}
		}
	}
}

func labels(evs []map[string]any) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = eventLabel(e)
	}
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// shapeDiff lists differences in field names and JSON types between want and got.
func shapeDiff(path string, want, got any) []string {
	if jsonType(want) != jsonType(got) {
		return []string{fmt.Sprintf("%s: type %s, want %s", orRoot(path), jsonType(got), jsonType(want))}
	}
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", orRoot(path), k))
				continue
			}
			out = append(out, shapeDiff(path+"."+k, wv, gv)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: unexpected field", orRoot(path), k))
			}
		}
	case []any:
		g := got.([]any)
		if len(w) > 0 && len(g) > 0 {
			out = append(out, shapeDiff(path+"[0]", w[0], g[0])...)
		}
	}
	return out
}

func orRoot(p string) string {
	if p == "" {
		return "$"
	}
	return p
}
