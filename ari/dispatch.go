package ari

import (
	"context"
	"sync"
	"sync/atomic"
)

// DefaultSubscriptionBuffer is used when Subscribe is given a buffer <= 0.
const DefaultSubscriptionBuffer = 64

// Subscription is one consumer's ordered stream of events. Read Events() until it is closed, then
// check Err(). Each subscription has its own bounded queue (a buffered channel), so a consumer
// that is slow only delays itself.
//
// Overflow policy: when the queue is full the event reader does not block (that would stall every
// other call) and does not silently drop (a call state machine that misses StasisEnd or
// ChannelDestroyed would leak the call). Instead the subscription is closed and Err returns
// ErrSubscriptionOverflow; the consumer sees the closed channel, re-reads the truth with
// GetChannel/GetBridge and may subscribe again. The queue is a channel, so no goroutine is
// needed per subscription; size it for the longest burst one call can produce (a call produces
// about 10–40 events, most of them ChannelVarset).
type Subscription struct {
	d        *dispatcher
	ch       chan Event
	catchAll bool

	mu     sync.Mutex // guards closed, err and sends on ch
	closed bool
	err    error

	keys map[string]struct{} // guarded by d.mu
}

// Events returns the stream. It is closed by Close, by overflow or when the client closes.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Err reports why the stream was closed: nil (Close), ErrSubscriptionOverflow or ErrClosed.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close stops delivery and closes Events(). Queued events are discarded with the channel.
func (s *Subscription) Close() {
	s.d.remove(s)
	s.finish(nil)
}

// AddKey routes the events of another channel or bridge id to this subscription as well, so one
// call's channel, externalMedia channel and bridge share one ordered stream.
func (s *Subscription) AddKey(key string) { s.d.addKey(s, key) }

// RemoveKey stops routing key to this subscription.
func (s *Subscription) RemoveKey(key string) { s.d.removeKey(s, key) }

// offer queues ev without blocking; on a full queue the subscription fails with overflow.
func (s *Subscription) offer(ev Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	select {
	case s.ch <- ev:
		s.mu.Unlock()
		return
	default:
	}
	s.mu.Unlock()
	s.d.overflow.Add(1)
	s.d.remove(s)
	s.finish(ErrSubscriptionOverflow)
}

func (s *Subscription) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed, s.err = true, err
	close(s.ch)
}

// dispatcher routes events to subscriptions by channel/bridge id.
type dispatcher struct {
	mu       sync.RWMutex
	byKey    map[string][]*Subscription
	catchAll []*Subscription
	closeErr error // set once the client is closed
	overflow atomic.Uint64
}

func newDispatcher() *dispatcher {
	return &dispatcher{byKey: make(map[string][]*Subscription)}
}

func (d *dispatcher) subscribe(keys []string, buffer int, catchAll bool) *Subscription {
	if buffer <= 0 {
		buffer = DefaultSubscriptionBuffer
	}
	s := &Subscription{d: d, ch: make(chan Event, buffer), catchAll: catchAll, keys: make(map[string]struct{})}
	d.mu.Lock()
	if d.closeErr != nil {
		err := d.closeErr
		d.mu.Unlock()
		s.finish(err)
		return s
	}
	if catchAll {
		d.catchAll = append(d.catchAll, s)
	}
	for _, k := range keys {
		d.addKeyLocked(s, k)
	}
	d.mu.Unlock()
	return s
}

func (d *dispatcher) addKey(s *Subscription, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closeErr != nil || s.isClosed() {
		return
	}
	d.addKeyLocked(s, key)
}

func (s *Subscription) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (d *dispatcher) addKeyLocked(s *Subscription, key string) {
	if key == "" {
		return
	}
	if _, ok := s.keys[key]; ok {
		return
	}
	s.keys[key] = struct{}{}
	d.byKey[key] = append(d.byKey[key], s)
}

func (d *dispatcher) removeKey(s *Subscription, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removeKeyLocked(s, key)
}

func (d *dispatcher) removeKeyLocked(s *Subscription, key string) {
	if _, ok := s.keys[key]; !ok {
		return
	}
	delete(s.keys, key)
	d.byKey[key] = without(d.byKey[key], s)
	if len(d.byKey[key]) == 0 {
		delete(d.byKey, key)
	}
}

func without(list []*Subscription, s *Subscription) []*Subscription {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	clear(list[len(out):]) // drop references held by the tail
	return out
}

func (d *dispatcher) remove(s *Subscription) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range s.keys {
		d.removeKeyLocked(s, k)
	}
	if s.catchAll {
		d.catchAll = without(d.catchAll, s)
	}
}

// deliver routes ev to every subscription of any of its keys (each at most once), or to the
// catch-all subscriptions when no key has a subscriber.
func (d *dispatcher) deliver(ev Event) {
	keys := routingKeys(ev)
	var stack [4]*Subscription
	targets := stack[:0]
	d.mu.RLock()
	for _, k := range keys {
		for _, s := range d.byKey[k] {
			if !contains(targets, s) {
				targets = append(targets, s)
			}
		}
	}
	if len(targets) == 0 {
		targets = append(targets, d.catchAll...)
	}
	d.mu.RUnlock()
	for _, s := range targets {
		s.offer(ev)
	}
}

// deliverCatchAll sends ev to the catch-all subscriptions only (synthetic notifications).
func (d *dispatcher) deliverCatchAll(ev Event) {
	d.mu.RLock()
	targets := append([]*Subscription(nil), d.catchAll...)
	d.mu.RUnlock()
	for _, s := range targets {
		s.offer(ev)
	}
}

func contains(list []*Subscription, s *Subscription) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (d *dispatcher) closeAll(err error) {
	d.mu.Lock()
	d.closeErr = err
	var all []*Subscription
	for _, list := range d.byKey {
		for _, s := range list {
			if !contains(all, s) {
				all = append(all, s)
			}
		}
	}
	for _, s := range d.catchAll {
		if !contains(all, s) {
			all = append(all, s)
		}
	}
	d.byKey = make(map[string][]*Subscription)
	d.catchAll = nil
	d.mu.Unlock()
	for _, s := range all {
		s.finish(err)
	}
}

// Subscribe returns a subscription to every event concerning one of keys (channel ids or bridge
// ids; more can be added with AddKey). Subscribe to a channel id BEFORE the request that creates
// the channel (CreateChannel/ExternalMedia/Originate/Snoop with your own ChannelID) so that no
// event — StasisStart in particular — can reach the catch-all instead. buffer <= 0 means
// DefaultSubscriptionBuffer.
func (c *Client) Subscribe(buffer int, keys ...string) *Subscription {
	return c.disp.subscribe(keys, buffer, false)
}

// SubscribeCatchAll returns a subscription to every event that concerns no subscribed key: the
// StasisStart of a new inbound channel, device/endpoint state changes, and the synthetic
// Reconnected notification. The consumer of a new inbound channel should Subscribe to its id
// and then treat further catch-all events for that id (sent before the Subscribe) as its own.
func (c *Client) SubscribeCatchAll(buffer int) *Subscription {
	return c.disp.subscribe(nil, buffer, true)
}

// WaitStasisStart reads sub until the StasisStart of channelID and returns it together with the
// other events read meanwhile (in order, for the caller to process). It fails with
// ErrChannelGone if the channel is destroyed first (Asterisk sometimes sends only
// ChannelHangupRequest + ChannelDestroyed for a channel hung up right after creation), with
// sub.Err()/ErrClosed if the subscription ends, or with ctx's error.
//
// Typical outbound use: sub := c.Subscribe(0, id); c.CreateChannel(ctx, CreateParams{ChannelID: id,
// ...}); WaitStasisStart(ctx, sub, id); then AddChannel.
func WaitStasisStart(ctx context.Context, sub *Subscription, channelID string) (*StasisStart, []Event, error) {
	var skipped []Event
	for {
		select {
		case <-ctx.Done():
			return nil, skipped, ctx.Err()
		case ev, ok := <-sub.Events():
			if !ok {
				if err := sub.Err(); err != nil {
					return nil, skipped, err
				}
				return nil, skipped, ErrClosed
			}
			switch e := ev.(type) {
			case *StasisStart:
				if e.Channel.ID == channelID {
					return e, skipped, nil
				}
			case *ChannelDestroyed:
				if e.Channel.ID == channelID {
					return nil, append(skipped, ev), ErrChannelGone
				}
			}
			skipped = append(skipped, ev)
		}
	}
}

// SubscriptionOverflows counts subscriptions closed because their consumer fell behind (a metric).
func (c *Client) SubscriptionOverflows() uint64 { return c.disp.overflow.Load() }
