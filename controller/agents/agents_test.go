package agents

import (
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
	r.Join("ann", "s1", a1)
	clock = clock.Add(time.Second)
	r.Join("bob", "s2", a2)
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
	r.Leave("bob", "s2")
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
