package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/crmphone/crmphone/controller/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// received is one request the fake CRM got.
type received struct {
	event, delivery, timestamp, signature string
	body                                  []byte
	env                                   struct {
		ID   string          `json:"id"`
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	callID string
}

// receiver is the CRM's webhook endpoint: down (503) until up is set.
type receiver struct {
	t        *testing.T
	srv      *httptest.Server
	up       atomic.Bool
	failKey  string // always 503 for this call id
	mu       sync.Mutex
	got      []received // accepted requests, in arrival order
	rejected int
	changed  chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, changed: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	rec := received{event: req.Header.Get(HeaderEvent), delivery: req.Header.Get(HeaderDelivery),
		timestamp: req.Header.Get(HeaderTimestamp), signature: req.Header.Get(HeaderSignature), body: body}
	if err := json.Unmarshal(body, &rec.env); err != nil {
		r.t.Errorf("body is not an envelope: %v: %s", err, body)
	}
	var data struct {
		CallID string `json:"call_id"`
	}
	json.Unmarshal(rec.env.Data, &data)
	rec.callID = data.CallID
	r.mu.Lock()
	defer func() {
		r.mu.Unlock()
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}()
	if !r.up.Load() || rec.callID == r.failKey {
		r.rejected++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.got = append(r.got, rec)
	w.WriteHeader(http.StatusNoContent)
}

// waitFor waits until cond holds on the receiver's state; the timeout only
// guards against hanging.
func (r *receiver) waitFor(cond func(got []received, rejected int) bool) {
	r.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r.got, r.rejected)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			r.t.Fatal("timed out waiting for the receiver")
		}
	}
}

func (r *receiver) snapshot() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testConfig(t *testing.T, url string) Config {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return Config{URL: url, Secret: testSecret, Timeout: 2 * time.Second, MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 40 * time.Millisecond, PollInterval: 100 * time.Millisecond, Client: &http.Client{Transport: tr}}
}

// start runs a deliverer until the returned stop is called.
func start(t *testing.T, o *Outbox, cfg Config) (stop func()) {
	t.Helper()
	d, err := NewDeliverer(o, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func call(id string, t0 time.Time) store.Call {
	ans, end := t0.Add(2*time.Second), t0.Add(65*time.Second)
	return store.Call{ID: id, Direction: "inbound", OperatorID: "op-1", Number: "+15550100", CRMRef: "lead-9",
		State: "ended", Cause: "normal_clearing", HangupBy: "remote", CreatedAt: t0, RingingAt: &t0, AnsweredAt: &ans, EndedAt: &end}
}

// checkOrder asserts that, per call, deliveries follow enqueue order: a
// repeat of an earlier event is allowed (at least once), skipping ahead is not,
// and in the end every event arrived.
func checkOrder(t *testing.T, got []received, want map[string][]string) {
	t.Helper()
	next := map[string]int{} // per call: index of the next event not yet seen
	for _, r := range got {
		ids := want[r.callID]
		i := indexOf(ids, r.delivery)
		switch {
		case i < 0:
			t.Fatalf("unexpected delivery %s for call %q", r.delivery, r.callID)
		case i > next[r.callID]:
			t.Fatalf("call %s: event #%d (%s) arrived before #%d", r.callID, i, r.event, next[r.callID])
		case i == next[r.callID]:
			next[r.callID]++
		}
		if r.env.ID != r.delivery {
			t.Fatalf("body id %s differs from header delivery %s", r.env.ID, r.delivery)
		}
		if err := Verify(testSecret, r.timestamp, r.body, r.signature, 5*time.Minute); err != nil {
			t.Fatalf("delivery %s does not verify: %v", r.delivery, err)
		}
		tampered := append([]byte(nil), r.body...)
		tampered[len(tampered)-2] ^= 1
		if err := Verify(testSecret, r.timestamp, tampered, r.signature, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("tampered body verified: %v", err)
		}
	}
	for key, ids := range want {
		if next[key] != len(ids) {
			t.Fatalf("call %s: %d of %d events arrived", key, next[key], len(ids))
		}
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestDeliveryAcrossRestartWithReceiverDown(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crmphone.db")
	rcv := newReceiver(t)
	st := openStore(t, path)
	outbox := NewOutbox(st)

	t0 := time.Now().Add(-time.Minute)
	want := map[string][]string{}
	enqueue := func(ev Event) {
		t.Helper()
		id, err := outbox.Enqueue(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		want[ev.Key] = append(want[ev.Key], id)
	}
	a, b := call("call-a", t0), call("call-b", t0)
	enqueue(Offered(a))
	enqueue(Offered(b))
	enqueue(Answered(a))
	enqueue(Missed(b, "no_answer"))
	enqueue(Ended(a))
	enqueue(Closed(TaskClosed{TaskID: "task-1", CallID: "call-a", OperatorID: "op-1", Result: "done"}))

	stop := start(t, outbox, testConfig(t, rcv.srv.URL))
	// Let the deliverer fail a few times against the down receiver, then
	// "crash" it mid-way and drop the database handle.
	rcv.waitFor(func(_ []received, rejected int) bool { return rejected >= 4 })
	stop()
	if n, _ := st.PendingWebhooks(ctx); n != 6 {
		t.Fatalf("pending after crash = %d; want all 6", n)
	}
	heads, err := st.DueWebhooks(ctx, time.Now().Add(time.Hour), 10)
	if err != nil || len(heads) != 2 || heads[0].Attempts == 0 || heads[0].LastError != "status 503" {
		t.Fatalf("heads after failures = %+v, %v; want 2 heads with a recorded failure", heads, err)
	}
	// While down, only the head of each call was tried.
	if len(rcv.snapshot()) != 0 {
		t.Fatal("receiver accepted while down")
	}
	st.Close()

	// Restart: new handle on the same file, new outbox and deliverer, then the receiver comes back.
	st2 := openStore(t, path)
	defer st2.Close()
	outbox2 := NewOutbox(st2)
	rcv.up.Store(true)
	stop2 := start(t, outbox2, testConfig(t, rcv.srv.URL))
	// An event enqueued after the restart joins the end of its call's queue.
	late := call("call-b", t0)
	id, err := outbox2.Enqueue(ctx, Ended(late))
	if err != nil {
		t.Fatal(err)
	}
	want["call-b"] = append(want["call-b"], id)

	rcv.waitFor(func(got []received, _ int) bool {
		seen := map[string]bool{}
		for _, r := range got {
			seen[r.delivery] = true
		}
		return len(seen) == 7
	})
	// The last acknowledgement may still be on its way to the database.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n, err := st2.PendingWebhooks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still pending after the receiver got them all", n)
		}
	}
	stop2()
	checkOrder(t, rcv.snapshot(), want)
	types := map[string][]string{}
	for _, r := range rcv.snapshot() {
		if r.event != r.env.Type {
			t.Fatalf("header event %s, body type %s", r.event, r.env.Type)
		}
		if indexOf(types[r.callID], r.event) < 0 {
			types[r.callID] = append(types[r.callID], r.event)
		}
	}
	if got := types["call-a"]; len(got) != 4 || got[0] != TypeCallOffered || got[3] != TypeTaskClosed {
		t.Fatalf("call-a event types = %v", got)
	}
}

func TestFailingCallDoesNotBlockOthers(t *testing.T) {
	ctx := context.Background()
	rcv := newReceiver(t)
	rcv.up.Store(true)
	rcv.failKey = "stuck"
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	defer st.Close()
	outbox := NewOutbox(st)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, rcv.srv.URL)
	cfg.Metrics = m
	start(t, outbox, cfg)

	t0 := time.Now()
	var ok []string
	for _, ev := range []Event{Offered(call("stuck", t0)), Offered(call("fine", t0)), Answered(call("stuck", t0)),
		Answered(call("fine", t0)), Ended(call("fine", t0))} {
		id, err := outbox.Enqueue(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Key == "fine" {
			ok = append(ok, id)
		}
	}
	rcv.waitFor(func(got []received, rejected int) bool { return len(got) >= 3 && rejected >= 2 })
	// Outcomes reach the database (and the metrics, counted just before) a
	// moment after the receiver answers.
	var heads []store.WebhookEvent
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		pending, _ := st.PendingWebhooks(ctx)
		heads, _ = st.DueWebhooks(ctx, time.Now().Add(time.Hour), 10)
		if pending == 2 && len(heads) == 1 && heads[0].Attempts >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending = %d, heads = %+v; want only the stuck call's 2 events, its head tried twice", pending, heads)
		}
	}
	checkOrder(t, rcv.snapshot(), map[string][]string{"fine": ok})
	for _, r := range rcv.snapshot() {
		if r.callID == "stuck" {
			t.Fatal("stuck call's event accepted")
		}
	}
	// The stuck call's second event was never tried: its first is undelivered.
	if heads[0].EventType != TypeCallOffered || heads[0].OrderingKey != "stuck" {
		t.Fatalf("stuck head = %+v", heads[0])
	}
	if n := counterValue(t, m.Attempts.WithLabelValues("delivered")); n < 3 {
		t.Fatalf("delivered attempts metric = %v", n)
	}
	if n := counterValue(t, m.Attempts.WithLabelValues("failed")); n < 2 {
		t.Fatalf("failed attempts metric = %v", n)
	}
}

func TestUnreachableReceiverRecordsErrorWithoutURL(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?token=s3cr3t"
	srv.Close() // nothing listens there any more
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	defer st.Close()
	outbox := NewOutbox(st)
	if _, err := outbox.Enqueue(ctx, Offered(call("c", time.Now()))); err != nil {
		t.Fatal(err)
	}
	stop := start(t, outbox, testConfig(t, url))
	var head store.WebhookEvent
	deadline := time.Now().Add(20 * time.Second)
	for head.Attempts < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		heads, _ := st.DueWebhooks(ctx, time.Now().Add(time.Hour), 1)
		if len(heads) == 1 {
			head = heads[0]
		}
	}
	stop()
	if head.Attempts < 2 || head.DeliveredAt != nil || head.LastError == "" {
		t.Fatalf("head = %+v; want failed attempts recorded", head)
	}
	for _, leak := range []string{"s3cr3t", "/hook"} {
		if strings.Contains(head.LastError, leak) {
			t.Fatalf("last error %q leaks %q", head.LastError, leak)
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"id":"dlv_1","type":"call.ended"}`)
	sig := Sign(testSecret, ts, body)
	other := Sign([]byte("another-secret-of-16+bytes"), ts, body)
	tamperedSig := sig[:len(sig)-1] + string("0123456789abcdef"[(strings.Index("0123456789abcdef", sig[len(sig)-1:])+1)%16])
	tests := []struct {
		name      string
		secret    []byte
		ts        string
		body      []byte
		header    string
		tolerance time.Duration
		want      error
	}{
		{"valid", testSecret, ts, body, sig, 5 * time.Minute, nil},
		{"valid among rotated secrets", testSecret, ts, body, other + ", " + sig, 5 * time.Minute, nil},
		{"tampered body", testSecret, ts, []byte(`{"id":"dlv_1","type":"call.ender"}`), sig, 5 * time.Minute, ErrBadSignature},
		{"tampered signature", testSecret, ts, body, tamperedSig, 5 * time.Minute, ErrBadSignature},
		{"tampered timestamp", testSecret, strconv.FormatInt(now.Unix()+1, 10), body, sig, 5 * time.Minute, ErrBadSignature},
		{"wrong secret", []byte("not-the-secret-at-all"), ts, body, sig, 5 * time.Minute, ErrBadSignature},
		{"stale", testSecret, strconv.FormatInt(now.Unix()-600, 10), body, Sign(testSecret, strconv.FormatInt(now.Unix()-600, 10), body), 5 * time.Minute, ErrStaleTimestamp},
		{"stale accepted without tolerance", testSecret, strconv.FormatInt(now.Unix()-600, 10), body, Sign(testSecret, strconv.FormatInt(now.Unix()-600, 10), body), 0, nil},
		{"no v1 entry", testSecret, ts, body, "v0=abc", time.Minute, ErrMalformedSignature},
		{"not hex", testSecret, ts, body, "v1=zz", time.Minute, ErrMalformedSignature},
		{"bad timestamp", testSecret, "yesterday", body, sig, time.Minute, ErrMalformedSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyAt(tc.secret, tc.ts, tc.body, tc.header, tc.tolerance, now)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("verify = %v; want %v", err, tc.want)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	d, err := NewDeliverer(NewOutbox(nil), Config{URL: "http://127.0.0.1:1/", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		previous int
		lo, hi   time.Duration
	}{
		{0, 500 * time.Millisecond, time.Second},
		{3, 4 * time.Second, 8 * time.Second},
		{9, 256 * time.Second, 512 * time.Second},
		{10, 5 * time.Minute, 10 * time.Minute},
		{100, 5 * time.Minute, 10 * time.Minute},
	} {
		for range 50 {
			if got := d.backoff(tc.previous); got < tc.lo || got > tc.hi {
				t.Fatalf("backoff after %d attempts = %v; want within [%v, %v]", tc.previous, got, tc.lo, tc.hi)
			}
		}
	}
}

func TestNewDelivererRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "", Secret: testSecret},
		{URL: "ftp://crm.example/hook", Secret: testSecret},
		{URL: "/relative", Secret: testSecret},
		{URL: "https://crm.example/hook", Secret: []byte("short")},
	} {
		if _, err := NewDeliverer(NewOutbox(nil), cfg); !errors.Is(err, ErrConfig) {
			t.Fatalf("%+v accepted: %v", cfg.URL, err)
		}
	}
}

func TestEventPayloads(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := call("c1", t0)
	ended := Ended(c).Data.(CallEnded)
	if ended.DurationS != 63 || ended.Cause != "normal_clearing" || ended.HangupBy != "remote" || ended.CallID != "c1" {
		t.Fatalf("ended = %+v", ended)
	}
	c.AnsweredAt = nil
	if d := Ended(c).Data.(CallEnded); d.DurationS != 0 || d.AnsweredAt != nil {
		t.Fatalf("unanswered ended = %+v", d)
	}
	if ev := Closed(TaskClosed{TaskID: "t1"}); ev.Key != "task:t1" || ev.Type != TypeTaskClosed {
		t.Fatalf("task without call = %+v", ev)
	}
	if _, err := NewOutbox(nil).Enqueue(context.Background(), Event{Type: "x"}); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("event without key: %v", err)
	}
	var none *Outbox
	if id, err := none.Enqueue(context.Background(), Offered(c)); id != "" || err != nil {
		t.Fatalf("nil outbox = %q, %v", id, err)
	}
	raw, _ := json.Marshal(Envelope{ID: "d", Type: TypeCallEnded, CreatedAt: t0, Data: Ended(call("c1", t0)).Data})
	var m map[string]any
	json.Unmarshal(raw, &m)
	data := m["data"].(map[string]any)
	for _, k := range []string{"call_id", "direction", "operator_id", "number", "crm_ref", "answered_at", "ended_at", "duration_s", "cause", "hangup_by"} {
		if _, ok := data[k]; !ok {
			t.Fatalf("call.ended data lacks %q: %s", k, raw)
		}
	}
}
