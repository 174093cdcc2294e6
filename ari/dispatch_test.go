package ari

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func chanEvent(typ, id string) Event {
	return &ChannelStateChange{EventBase: EventBase{EventType: typ, Application: "crmphone"}, Channel: Channel{ID: id}}
}

func offlineClient(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Username: "u", Password: testPassword, Application: "crmphone"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestDispatchIsolation: a subscriber that never reads does not delay another one, and the
// stalled one is closed with an overflow error instead of losing events silently.
func TestDispatchIsolation(t *testing.T) {
	c := offlineClient(t)
	stalled := c.Subscribe(4, "slow-call")
	fast := c.Subscribe(200, "fast-call")

	const n = 100
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			c.disp.deliver(chanEvent("ChannelStateChange", "slow-call"))
			c.disp.deliver(chanEvent(fmt.Sprint("E", i), "fast-call"))
		}
	}()
	for i := range n {
		select {
		case ev := <-fast.Events():
			if want := fmt.Sprint("E", i); ev.Type() != want {
				t.Fatalf("event %d = %s, want %s", i, ev.Type(), want)
			}
		case <-time.After(10 * time.Second): // hang guard only
			t.Fatalf("fast subscriber starved after %d events", i)
		}
	}
	<-done

	got := 0
	for range stalled.Events() { // closed after the buffered events
		got++
	}
	if got != 4 || !errors.Is(stalled.Err(), ErrSubscriptionOverflow) {
		t.Errorf("stalled: got %d buffered events, err %v; want 4, overflow", got, stalled.Err())
	}
	if c.SubscriptionOverflows() != 1 {
		t.Errorf("overflows = %d", c.SubscriptionOverflows())
	}
	if fast.Err() != nil {
		t.Errorf("fast: %v", fast.Err())
	}
	// After overflow the key has no subscriber: its events go to the catch-all.
	all := c.SubscribeCatchAll(4)
	c.disp.deliver(chanEvent("Late", "slow-call"))
	if ev := <-all.Events(); ev.Type() != "Late" {
		t.Errorf("catch-all got %s", ev.Type())
	}
}

func TestDispatchRouting(t *testing.T) {
	c := offlineClient(t)
	chSub := c.Subscribe(8, "em1")
	brSub := c.Subscribe(8, "br1")
	both := c.Subscribe(8, "em1")
	both.AddKey("br1")
	both.AddKey("br1") // idempotent
	all := c.SubscribeCatchAll(8)

	entered := &ChannelEnteredBridge{EventBase: EventBase{EventType: "ChannelEnteredBridge"}, Bridge: Bridge{ID: "br1"}, Channel: &Channel{ID: "em1"}}
	c.disp.deliver(entered)
	c.disp.deliver(&StasisStart{EventBase: EventBase{EventType: "StasisStart"}, Channel: Channel{ID: "inbound-1"}})
	c.disp.deliver(&DeviceStateChanged{EventBase: EventBase{EventType: "DeviceStateChanged"}})

	expect := func(name string, s *Subscription, types ...string) {
		t.Helper()
		for _, want := range types {
			select {
			case ev := <-s.Events():
				if ev.Type() != want {
					t.Errorf("%s: got %s, want %s", name, ev.Type(), want)
				}
			default:
				t.Errorf("%s: missing %s", name, want)
			}
		}
		select {
		case ev := <-s.Events():
			t.Errorf("%s: unexpected %s", name, ev.Type())
		default:
		}
	}
	expect("channel", chSub, "ChannelEnteredBridge")
	expect("bridge", brSub, "ChannelEnteredBridge")
	expect("both keys", both, "ChannelEnteredBridge") // once, not twice
	expect("catch-all", all, "StasisStart", "DeviceStateChanged")

	both.RemoveKey("br1")
	chSub.Close()
	chSub.Close() // idempotent
	if _, ok := <-chSub.Events(); ok || chSub.Err() != nil {
		t.Errorf("closed subscription: open or err %v", chSub.Err())
	}
	c.disp.deliver(&BridgeDestroyed{EventBase: EventBase{EventType: "BridgeDestroyed"}, Bridge: Bridge{ID: "br1"}})
	expect("bridge", brSub, "BridgeDestroyed")
	expect("both after RemoveKey", both)

	_ = c.Close()
	for _, s := range []*Subscription{brSub, both, all} {
		for range s.Events() {
		}
		if !errors.Is(s.Err(), ErrClosed) {
			t.Errorf("after Close: err %v", s.Err())
		}
	}
	late := c.Subscribe(1, "x")
	if _, ok := <-late.Events(); ok || !errors.Is(late.Err(), ErrClosed) {
		t.Error("Subscribe after Close should return a closed subscription")
	}
}

func TestWaitStasisStart(t *testing.T) {
	ctx := context.Background()
	t.Run("skipped events are returned", func(t *testing.T) {
		c := offlineClient(t)
		sub := c.Subscribe(8, "em1")
		c.disp.deliver(&Dial{EventBase: EventBase{EventType: "Dial"}, Peer: Channel{ID: "em1"}})
		c.disp.deliver(chanEvent("ChannelStateChange", "em1"))
		c.disp.deliver(&StasisStart{EventBase: EventBase{EventType: "StasisStart"}, Channel: Channel{ID: "em1"}, Args: []string{"x"}})
		ss, skipped, err := WaitStasisStart(ctx, sub, "em1")
		if err != nil || ss.Args[0] != "x" || len(skipped) != 2 || skipped[0].Type() != "Dial" {
			t.Errorf("got %v %v %v", ss, skipped, err)
		}
	})
	t.Run("destroyed first", func(t *testing.T) {
		c := offlineClient(t)
		sub := c.Subscribe(8, "em1")
		c.disp.deliver(&ChannelHangupRequest{EventBase: EventBase{EventType: "ChannelHangupRequest"}, Channel: Channel{ID: "em1"}})
		c.disp.deliver(&ChannelDestroyed{EventBase: EventBase{EventType: "ChannelDestroyed"}, Channel: Channel{ID: "em1"}, Cause: 16})
		_, skipped, err := WaitStasisStart(ctx, sub, "em1")
		if !errors.Is(err, ErrChannelGone) || len(skipped) != 2 {
			t.Errorf("err %v skipped %d", err, len(skipped))
		}
	})
	t.Run("client closed", func(t *testing.T) {
		c := offlineClient(t)
		sub := c.Subscribe(8, "em1")
		_ = c.Close()
		if _, _, err := WaitStasisStart(ctx, sub, "em1"); !errors.Is(err, ErrClosed) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		c := offlineClient(t)
		sub := c.Subscribe(8, "em1")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := WaitStasisStart(cctx, sub, "em1"); !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
	})
}

func TestBackoff(t *testing.T) {
	minD, maxD := 100*time.Millisecond, 10*time.Second
	for n := range 20 {
		want := minD << min(n, 7)
		if want > maxD {
			want = maxD
		}
		for range 50 {
			d := backoff(minD, maxD, n)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, want/2, want)
			}
		}
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
