package ari

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// maxEventSize bounds one websocket message (events carry at most a few channels/bridges).
const maxEventSize = 4 << 20

// ConnState is the state of the events websocket, for /readyz and metrics.
type ConnState struct {
	Connected  bool
	Since      time.Time // when Connected last changed
	LastError  string    // why the last connection attempt failed or the connection ended
	Reconnects int       // successful connections after the first one
}

// State returns the current connection state.
func (c *Client) State() ConnState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// updateState applies f to the state and notifies OnStateChange outside the lock.
func (c *Client) updateState(f func(*ConnState)) ConnState {
	c.mu.Lock()
	f(&c.state)
	st := c.state
	c.mu.Unlock()
	if c.cfg.OnStateChange != nil {
		c.cfg.OnStateChange(st)
	}
	return st
}

// Run connects the events websocket of the configured Application
// (/ari/events?app=<app>&subscribeAll=false, basic auth in a header, never in the URL) and keeps
// it up — reconnecting with capped exponential backoff and jitter — until ctx is done or Close is
// called. Events are delivered to subscriptions (Subscribe, SubscribeCatchAll). After every
// reconnection a Reconnected event goes to the catch-all subscriptions: events may have been
// missed, reconcile with ListChannels/ListBridges. Run returns nil after Close, ctx.Err() after
// cancellation, and an error at once if it is already running or the Application is empty.
// When Run returns, all goroutines it started have ended.
func (c *Client) Run(ctx context.Context) error {
	if c.cfg.Application == "" {
		return errors.New("ari: Run needs Config.Application")
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.running {
		c.mu.Unlock()
		return errors.New("ari: Run is already running")
	}
	runCtx, cancel := context.WithCancel(ctx)
	c.running, c.runCancel = true, cancel
	c.mu.Unlock()
	defer func() {
		cancel()
		c.mu.Lock()
		c.running, c.runCancel = false, nil
		c.mu.Unlock()
	}()

	log := c.cfg.Logger.With("ari_url", c.base, "app", c.cfg.Application)
	everConnected := false
	attempt := 0
	for {
		conn, err := c.dialEvents(runCtx)
		if err == nil {
			attempt = 0
			st := c.updateState(func(s *ConnState) {
				s.Connected, s.Since = true, time.Now()
				if everConnected {
					s.Reconnects++
				}
			})
			log.Info("ari events connected", "reconnects", st.Reconnects)
			if everConnected {
				c.disp.deliverCatchAll(&Reconnected{
					EventBase:  EventBase{EventType: EventTypeReconnected, Application: c.cfg.Application, Timestamp: Time{time.Now()}},
					Reconnects: st.Reconnects,
					LastError:  st.LastError,
				})
			}
			everConnected = true
			err = c.readEvents(runCtx, conn)
		}
		if runCtx.Err() != nil {
			c.updateState(func(s *ConnState) {
				if s.Connected {
					s.Connected, s.Since = false, time.Now()
				}
				s.LastError = "stopped"
			})
			if c.isClosed() {
				return nil
			}
			return ctx.Err()
		}
		c.updateState(func(s *ConnState) {
			if s.Connected {
				s.Connected, s.Since = false, time.Now()
			}
			s.LastError = err.Error()
		})
		delay := backoff(c.cfg.BackoffMin, c.cfg.BackoffMax, attempt)
		attempt++
		log.Warn("ari events disconnected", "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-runCtx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// backoff returns the delay before reconnect attempt n (0-based): min·2ⁿ capped at max, with
// "equal jitter" (a random value in [d/2, d]) so many clients do not reconnect in lockstep.
func backoff(minDelay, maxDelay time.Duration, n int) time.Duration {
	d := minDelay
	for i := 0; i < n && d < maxDelay; i++ {
		d *= 2
	}
	if d > maxDelay {
		d = maxDelay
	}
	half := d / 2
	return half + rand.N(half+1)
}

// eventsURL is the websocket URL without credentials.
func (c *Client) eventsURL() string {
	u := c.base
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	q := url.Values{"app": {c.cfg.Application}, "subscribeAll": {"false"}}
	return u + "/events?" + q.Encode()
}

func (c *Client) dialEvents(ctx context.Context) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: c.cfg.RequestTimeout, ReadBufferSize: 16 << 10, WriteBufferSize: 4 << 10}
	hdr := http.Header{"Authorization": {c.authHeader}}
	conn, resp, err := d.DialContext(ctx, c.eventsURL(), hdr)
	if err != nil {
		if resp != nil {
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusSwitchingProtocols {
				return nil, c.statusError(resp, http.MethodGet, "/events")
			}
		}
		return nil, fmt.Errorf("ari: events websocket: %w: %w", ErrUnavailable, err)
	}
	return conn, nil
}

// readEvents reads and dispatches until the connection fails or ctx is done. It owns conn.
func (c *Client) readEvents(ctx context.Context, conn *websocket.Conn) error {
	defer conn.Close()
	// Closing the connection is the only way to interrupt a blocked ReadMessage.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	alive := 2*c.cfg.PingInterval + c.cfg.RequestTimeout
	conn.SetReadLimit(maxEventSize)
	_ = conn.SetReadDeadline(time.Now().Add(alive))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(alive)) })

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { c.ping(conn, done) })
	defer wg.Wait()
	defer close(done)

	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("ari: events websocket: %w: %w", ErrUnavailable, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(alive))
		ev, err := DecodeEvent(data)
		if err != nil {
			// Never drop: hand the bytes on as a RawEvent to the catch-all.
			c.cfg.Logger.Warn("ari event not decodable", "err", err, "bytes", len(data))
			raw := &RawEvent{Raw: data}
			raw.EventType = "Undecodable"
			c.disp.deliver(raw)
			continue
		}
		c.disp.deliver(ev)
	}
}

// ping keeps NAT/proxies from idling the connection out and lets the read deadline detect a
// dead peer (Asterisk answers pings with pongs).
func (c *Client) ping(conn *websocket.Conn, done <-chan struct{}) {
	t := time.NewTicker(c.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.RequestTimeout)); err != nil {
				return
			}
		}
	}
}
