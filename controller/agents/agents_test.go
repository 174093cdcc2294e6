package agents

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"
)

type tab struct {
	mu     sync.Mutex
	events []string
}

func (t *tab) Notify(event string, data any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := data.(map[string]any); ok && event == "presence" {
		event += ":" + m["state"].(string)
	}
	t.events = append(t.events, event)
}

func TestLifecycle(t *testing.T) {
	r := New(50 * time.Millisecond)
	defer r.Close()
	clock := time.Unix(1000, 0)
	r.now = func() time.Time { return clock }
	a1, a2 := &tab{}, &tab{}
	r.Join(context.Background(), "ann", "Ann", "s1")
	r.AttachTab("ann", "s1", a1)
	clock = clock.Add(time.Second)
	r.Join(context.Background(), "bob", "Bob", "s2")
	r.AttachTab("bob", "s2", a2)
	if c := r.Candidates([]string{"ann", "bob"}); len(c) != 0 {
		t.Fatalf("operators without media are not candidates: %v", c)
	}
	r.SetMedia("ann", "s1", true)
	r.SetMedia("bob", "s2", true)
	if c := r.Candidates([]string{"bob", "ann", "carol"}); !reflect.DeepEqual(c, []string{"ann", "bob"}) {
		t.Fatalf("longest idle first: %v", c)
	}
	if !r.Reserve("ann") || r.Reserve("ann") {
		t.Fatal("an operator rings for one offer at a time")
	}
	if c := r.Candidates([]string{"ann", "bob"}); !reflect.DeepEqual(c, []string{"bob"}) {
		t.Fatalf("ringing operator offered again: %v", c)
	}
	r.Release("ann")
	if s, _ := r.State("ann"); s != Available {
		t.Fatalf("after release: %s", s)
	}
	r.StartCall("ann")
	r.EndCall("ann")
	if s, until := r.State("ann"); s != WrapUp || until.IsZero() {
		t.Fatalf("after call: %s %v", s, until)
	}
	if c := r.Candidates([]string{"ann"}); len(c) != 0 {
		t.Fatal("wrap-up is not available")
	}
	deadline := time.Now().Add(2 * time.Second)
	for s, _ := r.State("ann"); s != Available; s, _ = r.State("ann") {
		if time.Now().After(deadline) {
			t.Fatalf("wrap-up never ended: %s", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st, ok := r.SetAway("bob", true); !ok || st != Away {
		t.Fatalf("away: %s %v", st, ok)
	}
	if r.Reserve("bob") {
		t.Fatal("away operator reserved")
	}
	r.SetAway("bob", false)
	if r.Tabs("bob") != 1 || r.Tabs("nobody") != 0 {
		t.Fatalf("tabs: %d", r.Tabs("bob"))
	}
	r.Leave(context.Background(), "bob", "s2")
	if s, _ := r.State("bob"); s != Offline {
		t.Fatalf("bob after leaving: %s", s)
	}
	a1.mu.Lock()
	defer a1.mu.Unlock()
	want := []string{"presence:available", "presence:ringing", "presence:available", "presence:on_call", "presence:wrap_up", "presence:available"}
	if !reflect.DeepEqual(a1.events, want) {
		t.Fatalf("ann's tab saw %v, want %v", a1.events, want)
	}
}

func TestSessionsAreCountedPerOperator(t *testing.T) {
	ctx := context.Background()
	r := New(0)
	defer r.Close()
	steps := []struct {
		join    bool
		op, s   string
		want    int
		wantOps int
	}{
		{true, "a", "s1", 1, 1},
		{true, "a", "s2", 2, 1},
		{true, "b", "s3", 1, 2},
		{true, "a", "s2", 2, 2}, // the same session twice is one tab
		{false, "a", "s1", 1, 2},
		{false, "a", "s2", 0, 1},
		{false, "a", "s2", 0, 1}, // leaving twice is harmless
		{false, "b", "s3", 0, 0},
	}
	for i, st := range steps {
		var n int
		var err error
		if st.join {
			n, err = r.Join(ctx, st.op, "Name "+st.op, st.s)
		} else {
			n, err = r.Leave(ctx, st.op, st.s)
		}
		if err != nil || n != st.want {
			t.Fatalf("step %d: sessions = %d, %v; want %d", i, n, err, st.want)
		}
		if online, _ := r.Online(ctx); len(online) != st.wantOps {
			t.Fatalf("step %d: online = %v; want %d operators", i, online, st.wantOps)
		}
	}
	if _, ok, _ := r.Get(ctx, "a"); ok {
		t.Fatal("a should be offline")
	}
	// A session not joined by a login cannot be attached.
	r.AttachTab("ghost", "s9", &tab{})
	if online, _ := r.Online(ctx); len(online) != 0 {
		t.Fatalf("attach without login put someone online: %v", online)
	}
	r.Join(ctx, "c", "Cat", "s4")
	if e, ok, _ := r.Get(ctx, "c"); !ok || e.State != Available || e.DisplayName != "Cat" || e.Sessions != 1 {
		t.Fatalf("entry %+v %v", e, ok)
	}
}
