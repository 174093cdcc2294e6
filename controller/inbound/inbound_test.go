package inbound_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/ari/aritest"
	"github.com/crmphone/crmphone/controller/agents"
	"github.com/crmphone/crmphone/controller/calls"
	"github.com/crmphone/crmphone/controller/calls/callstest"
	"github.com/crmphone/crmphone/controller/crmlookup"
	"github.com/crmphone/crmphone/controller/inbound"
	"github.com/crmphone/crmphone/controller/logging"
	"github.com/crmphone/crmphone/controller/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tab is an operator's browser tab: it records the events it gets.
type tab struct {
	mu     sync.Mutex
	events []event
	ch     chan event
}

type event struct {
	name string
	data any
}

func newTab() *tab { return &tab{ch: make(chan event, 256)} }

func (t *tab) Notify(name string, data any) {
	t.mu.Lock()
	t.events = append(t.events, event{name, data})
	t.mu.Unlock()
	t.ch <- event{name, data}
}

// wait returns the next event called name.
func (t *tab) wait(tb testing.TB, name string) any {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-t.ch:
			if e.name == name {
				return e.data
			}
		case <-timeout:
			tb.Fatalf("no %s event", name)
		}
	}
}

func (t *tab) count(name string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.events {
		if e.name == name {
			n++
		}
	}
	return n
}

type slowLookup struct{ delay time.Duration }

func (l slowLookup) Lookup(ctx context.Context, number string) (*crmlookup.Card, error) {
	select {
	case <-time.After(l.delay):
		return &crmlookup.Card{Name: "ACME Ltd", URL: "https://crm.example.com/c/" + number}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type recEvents struct {
	mu     sync.Mutex
	missed []string
	offers int
}

func (e *recEvents) CallOffered(context.Context, store.Call) { e.mu.Lock(); e.offers++; e.mu.Unlock() }
func (e *recEvents) CallMissed(_ context.Context, _ store.Call, reason string) {
	e.mu.Lock()
	e.missed = append(e.missed, reason)
	e.mu.Unlock()
}
func (e *recEvents) TasksChanged(context.Context, string, []string) {}

type env struct {
	sim    *aritest.Server
	client *ari.Client
	store  *store.Store
	agents *agents.Registry
	calls  *calls.Manager
	router *inbound.Router
	events *recEvents
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{sim: aritest.New(t), events: &recEvents{}}
	c, err := ari.New(ari.Config{BaseURL: e.sim.URL(), Username: e.sim.Username(), Password: e.sim.Password(), Application: "crmphone"})
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	e.store, err = store.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e.agents = agents.New(0)
	e.calls = calls.NewManager(calls.Config{}, c, e.store, logging.Discard())
	e.router = inbound.New(c, e.store, e.agents, e.calls, slowLookup{200 * time.Millisecond}, e.events, logging.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	catchAll := c.SubscribeCatchAll(0)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.Run(ctx) }()
	go func() {
		defer wg.Done()
		for ev := range catchAll.Events() {
			e.router.HandleEvent(ev)
		}
	}()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		e.router.Shutdown(sctx)
		e.calls.Shutdown(sctx)
		cancel()
		catchAll.Close()
		c.Close()
		wg.Wait()
		e.agents.Close()
		e.store.Close()
		e.sim.Close()
	})
	for deadline := time.Now().Add(5 * time.Second); !c.State().Connected; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("ARI not connected")
		}
	}
	return e
}

func (e *env) operator(t *testing.T, id string) *tab {
	t.Helper()
	if err := e.store.UpsertOperator(context.Background(), store.Operator{ID: id, DisplayName: id}); err != nil {
		t.Fatal(err)
	}
	tb := newTab()
	e.agents.Join(context.Background(), id, id, "s-"+id)
	e.agents.AttachTab(id, "s-"+id, tb)
	e.agents.SetMedia(id, "s-"+id, true)
	return tb
}

func (e *env) target(t *testing.T, tg store.RoutingTarget) {
	t.Helper()
	if tg.Strategy == "" {
		tg.Strategy = "ring_all"
	}
	if tg.RingTimeoutS == 0 {
		tg.RingTimeoutS = 10
	}
	if tg.OnNoAnswer == "" {
		tg.OnNoAnswer = "continue"
	}
	if err := e.store.PutRoutingTarget(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
}

func (e *env) inject(t *testing.T, target string, far aritest.FarEnd) *aritest.Peer {
	t.Helper()
	p, err := e.sim.InjectInbound(context.Background(), aritest.InboundCall{CallerNumber: "+1 (555) 000-1\x00", CallerName: "<img src=x onerror=alert(1)>\x1b[2J",
		Exten: "100", Args: []string{"inbound", target}, FarEnd: far})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) missed(t *testing.T) []string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		e.events.mu.Lock()
		m := append([]string(nil), e.events.missed...)
		e.events.mu.Unlock()
		if len(m) > 0 || time.Now().After(deadline) {
			return m
		}
	}
}

func offerOf(t *testing.T, d any) map[string]any {
	t.Helper()
	b := d
	m, ok := toMap(b)
	if !ok {
		t.Fatalf("offer data %T", d)
	}
	return m
}

func TestRingAllOneAnswersOthersWithdrawn(t *testing.T) {
	e := newEnv(t)
	ann, bob := e.operator(t, "ann"), e.operator(t, "bob")
	e.target(t, store.RoutingTarget{ID: "sales", Members: []string{"ann", "bob"}})
	caller := e.inject(t, "sales", aritest.FarEnd{Media: aritest.Tone{Frequency: 1000}})
	o1, o2 := offerOf(t, ann.wait(t, "call.offer")), offerOf(t, bob.wait(t, "call.offer"))
	if o1["call_id"] != o2["call_id"] || o1["number"] != "+15550001" || strings.ContainsAny(o1["name"].(string), "\x00\x1b") {
		t.Fatalf("offers %v %v", o1, o2)
	}
	if s, _ := e.agents.State("ann"); s != agents.Ringing {
		t.Fatalf("ann is %s while offered", s)
	}
	card := offerOf(t, ann.wait(t, "call.card"))
	if card["call_id"] != o1["call_id"] {
		t.Fatalf("card %v", card)
	}
	media := &callstest.Media{ToneHz: 440}
	callID := o1["call_id"].(string)
	call, err := e.router.Answer(context.Background(), calls.Operator{ID: "ann", SessionID: "s-ann"}, media, ann, callID)
	if err != nil {
		t.Fatal(err)
	}
	w := offerOf(t, bob.wait(t, "call.offer_withdrawn"))
	if w["reason"] != "answered_elsewhere" {
		t.Fatalf("bob's withdrawal %v", w)
	}
	if _, err := e.router.Answer(context.Background(), calls.Operator{ID: "bob", SessionID: "s-bob"}, &callstest.Media{}, bob, callID); err == nil {
		t.Fatal("a second answer must fail")
	}
	if s, _ := e.agents.State("bob"); s != agents.Available {
		t.Fatalf("bob is %s after the withdrawal", s)
	}
	for deadline := time.Now().Add(10 * time.Second); len(caller.Received()) < 8000 || len(media.Leg(t).Received()) < 8000; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no two-way audio")
		}
	}
	if f, _ := aritest.DominantFrequency(tail(caller.Received()), 8000); f < 425 || f > 455 {
		t.Fatalf("caller heard %.0f Hz", f)
	}
	if f, _ := aritest.DominantFrequency(tail(media.Leg(t).Received()), 8000); f < 985 || f > 1015 {
		t.Fatalf("operator heard %.0f Hz", f)
	}
	caller.Hangup()
	<-call.Done()
	rec, err := e.store.GetCall(context.Background(), callID)
	if err != nil || rec.Direction != "inbound" || rec.OperatorID != "ann" || rec.AnsweredAt == nil || rec.Cause != calls.CauseRemoteHangup || rec.TargetID != "sales" {
		t.Fatalf("record %+v %v", rec, err)
	}
	for deadline := time.Now().Add(5 * time.Second); len(e.sim.Channels())+len(e.sim.Bridges()) > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("left: %v %v", e.sim.Channels(), e.sim.Bridges())
		}
	}
}

func tail(s []int16) []int16 {
	if len(s) > 8000 {
		return s[len(s)-8000:]
	}
	return s
}

func TestMissedCalls(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(e *env) []*tab
		far    aritest.FarEnd
		act    func(t *testing.T, e *env, tabs []*tab, callID string)
		reason string
	}{
		{"nobody available", func(e *env) []*tab { return nil }, aritest.FarEnd{}, nil, inbound.MissedNobodyAvailable},
		{"timeout", func(e *env) []*tab { return []*tab{e.operator(t, "ann")} }, aritest.FarEnd{}, nil, inbound.MissedTimeout},
		{"caller hangs up", func(e *env) []*tab { return []*tab{e.operator(t, "ann")} }, aritest.FarEnd{AbandonAfter: 300 * time.Millisecond}, nil, inbound.MissedCallerHungUp},
		{"rejected by all", func(e *env) []*tab { return []*tab{e.operator(t, "ann"), e.operator(t, "bob")} }, aritest.FarEnd{},
			func(t *testing.T, e *env, tabs []*tab, callID string) {
				tabs[1].wait(t, "call.offer") // both must be ringing before they can reject
				for _, id := range []string{"ann", "bob"} {
					if err := e.router.Reject(id, callID); err != nil {
						t.Fatal(err)
					}
				}
			}, inbound.MissedRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tabs := tt.setup(e)
			e.target(t, store.RoutingTarget{ID: "sales", Members: []string{"ann", "bob"}, RingTimeoutS: 1})
			e.inject(t, "sales", tt.far)
			var callID string
			if len(tabs) > 0 {
				callID = offerOf(t, tabs[0].wait(t, "call.offer"))["call_id"].(string)
			}
			if tt.act != nil {
				tt.act(t, e, tabs, callID)
			}
			if m := e.missed(t); len(m) != 1 || m[0] != tt.reason {
				t.Fatalf("missed = %v, want %s", m, tt.reason)
			}
			for _, tb := range tabs {
				if tb.count("call.offer") != tb.count("call.offer_withdrawn") {
					t.Fatalf("offers not all withdrawn: %d offers, %d withdrawals", tb.count("call.offer"), tb.count("call.offer_withdrawn"))
				}
			}
			for _, id := range []string{"ann", "bob"} {
				if s, _ := e.agents.State(id); s == agents.Ringing {
					t.Fatalf("%s still ringing", id)
				}
			}
			tasks, err := e.store.OpenTasks(context.Background(), []string{"sales"})
			if err != nil || len(tasks) != 1 || tasks[0].Reason != tt.reason || tasks[0].Number != "+15550001" {
				t.Fatalf("tasks %+v %v", tasks, err)
			}
			calls, _ := e.store.ListCalls(context.Background(), store.CallFilter{})
			if len(calls) != 1 || calls[0].Cause != "missed" || calls[0].MissedReason != tt.reason || calls[0].EndedAt == nil {
				t.Fatalf("call record %+v", calls)
			}
			if tt.reason != inbound.MissedCallerHungUp {
				var continued bool
				for _, r := range e.sim.Requests() {
					continued = continued || (r.Method == "POST" && strings.Contains(r.Path, "/continue"))
				}
				if !continued {
					t.Fatal("the caller was not handed back to the dialplan")
				}
			}
			closed, err := e.store.CloseTasksForNumber(context.Background(), "+15550001", "c-back")
			if err != nil || len(closed) != 1 {
				t.Fatalf("closing the task by a call back: %v %v", closed, err)
			}
		})
	}
}

func TestLongestIdleOffersOneAtATime(t *testing.T) {
	e := newEnv(t)
	ann := e.operator(t, "ann") // joined first: idle longest
	time.Sleep(10 * time.Millisecond)
	bob := e.operator(t, "bob")
	e.target(t, store.RoutingTarget{ID: "support", Members: []string{"bob", "ann"}, Strategy: "longest_idle", MemberTimeoutS: 1, RingTimeoutS: 10})
	e.inject(t, "support", aritest.FarEnd{})
	o := offerOf(t, ann.wait(t, "call.offer"))
	if bob.count("call.offer") != 0 {
		t.Fatal("bob offered at the same time")
	}
	// ann does not answer in time: the offer moves to bob.
	if w := offerOf(t, ann.wait(t, "call.offer_withdrawn")); w["reason"] != "timeout" {
		t.Fatalf("ann's withdrawal %v", w)
	}
	if o2 := offerOf(t, bob.wait(t, "call.offer")); o2["call_id"] != o["call_id"] {
		t.Fatalf("bob's offer %v", o2)
	}
	if err := e.router.Reject("ann", o["call_id"].(string)); err == nil {
		t.Fatal("ann may not reject an offer she no longer has")
	}
}

// Two calls at once: each is offered on its own, an operator never rings for
// two, and the second caller waits until an operator is free.
func TestConcurrentCallsWaitForAFreeOperator(t *testing.T) {
	e := newEnv(t)
	ann, bob := e.operator(t, "ann"), e.operator(t, "bob")
	e.target(t, store.RoutingTarget{ID: "sales", Members: []string{"ann", "bob"}, RingTimeoutS: 20})
	e.inject(t, "sales", aritest.FarEnd{})
	first := offerOf(t, ann.wait(t, "call.offer"))["call_id"].(string)
	offerOf(t, bob.wait(t, "call.offer"))
	e.inject(t, "sales", aritest.FarEnd{})
	time.Sleep(1500 * time.Millisecond) // a recheck has happened: still nobody is free
	if ann.count("call.offer") != 1 || bob.count("call.offer") != 1 {
		t.Fatalf("an operator rang for two calls: ann %d bob %d", ann.count("call.offer"), bob.count("call.offer"))
	}
	e.events.mu.Lock()
	m := append([]string(nil), e.events.missed...)
	e.events.mu.Unlock()
	if len(m) != 0 {
		t.Fatalf("the second caller was given up while operators were busy: %v", m)
	}
	if _, err := e.router.Answer(context.Background(), calls.Operator{ID: "ann", SessionID: "s-ann"}, &callstest.Media{}, ann, first); err != nil {
		t.Fatal(err)
	}
	// bob is released from the first call and offered the second.
	second := offerOf(t, bob.wait(t, "call.offer"))["call_id"].(string)
	if second == first {
		t.Fatal("bob was offered the first call again")
	}
	if _, err := e.router.Answer(context.Background(), calls.Operator{ID: "bob", SessionID: "s-bob"}, &callstest.Media{}, bob, second); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.agents.State("ann"); s != agents.OnCall {
		t.Fatalf("ann is %s", s)
	}
	if s, _ := e.agents.State("bob"); s != agents.OnCall {
		t.Fatalf("bob is %s", s)
	}
}
