package tokens

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryReplayStore(t *testing.T) {
	ctx := context.Background()
	now := t0
	s := NewMemoryReplayStore(2, fixedClock(&now))
	mark := func(id string, until time.Time) bool {
		t.Helper()
		first, err := s.MarkUsed(ctx, id, until)
		if err != nil {
			t.Fatalf("MarkUsed(%s): %v", id, err)
		}
		return first
	}
	if !mark("a", t0.Add(time.Minute)) || mark("a", t0.Add(time.Minute)) {
		t.Fatal("a: want first use, then not")
	}
	if !mark("b", t0.Add(2*time.Minute)) {
		t.Fatal("b: want first use")
	}
	// Full with two live ids: fail closed instead of forgetting one.
	if _, err := s.MarkUsed(ctx, "c", t0.Add(time.Minute)); !errors.Is(err, ErrReplayStoreFull) {
		t.Fatalf("full store: %v", err)
	}
	// An id whose time has passed cannot pass the expiry check anyway: nothing to store.
	if !mark("past", t0.Add(-time.Second)) || s.Len() != 2 {
		t.Fatalf("expired until should not be stored (len %d)", s.Len())
	}
	// After a's time, a is pruned: room for c, and a is new again.
	now = t0.Add(time.Minute)
	if !mark("c", t0.Add(3*time.Minute)) || s.Len() != 2 {
		t.Fatalf("after pruning a: len %d", s.Len())
	}
	if mark("b", t0.Add(2*time.Minute)) {
		t.Fatal("b is still live and must be refused")
	}
	now = t0.Add(10 * time.Minute)
	if !mark("a", t0.Add(11*time.Minute)) || s.Len() != 1 {
		t.Fatalf("after everything expired: len %d", s.Len())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.MarkUsed(cancelled, "z", t0.Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestMemoryReplayStoreConcurrent(t *testing.T) {
	s := NewMemoryReplayStore(0, nil)
	until := time.Now().Add(time.Hour)
	var firsts atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				first, err := s.MarkUsed(context.Background(), fmt.Sprint("id-", i), until)
				if err != nil {
					t.Error(err)
					return
				}
				if first {
					firsts.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := firsts.Load(); got != 50 {
		t.Fatalf("%d first uses for 50 ids marked by 16 goroutines", got)
	}
}
