package calls

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/controller/store"
)

type cmdKind int

const (
	cmdHangup cmdKind = iota
	cmdMute
	cmdHold
	cmdDTMF
	cmdDetach
	cmdLost
)

type command struct {
	kind   cmdKind
	on     bool
	digits string
	by     string // operator | system
	reply  chan error
}

// Call is one live call. Its goroutine owns the state; methods send it commands.
type Call struct {
	m         *Manager
	id        string
	op        Operator
	media     Media
	notify    Notifier
	number    string
	crmRef    string
	direction string
	created   time.Time

	bridgeID, mediaChanID, farChanID string

	// inbound calls answer a channel that entered Stasis from the dialplan
	// instead of creating and dialling one.
	inbound bool

	cmds  chan command
	done  chan struct{}
	ready atomic.Bool // setup finished: the far channel exists in Asterisk

	mu       sync.Mutex // guards what publish reads
	state    string
	cause    string
	muted    bool
	held     bool
	answered bool
}

// ID is the call id.
func (c *Call) ID() string { return c.id }

// FarChannelID is the Asterisk channel of the far party.
func (c *Call) FarChannelID() string { return c.farChanID }

// Done is closed when the call has ended and everything is cleaned up.
func (c *Call) Done() <-chan struct{} { return c.done }

func (c *Call) setupDone() bool { return c.ready.Load() }

// Hangup ends the call from the operator's side.
func (c *Call) Hangup(ctx context.Context) error {
	return c.do(ctx, command{kind: cmdHangup, by: "operator"})
}

// Mute stops (or restores) the operator's audio to the far end.
func (c *Call) Mute(ctx context.Context, muted bool) error {
	return c.do(ctx, command{kind: cmdMute, on: muted})
}

// Hold puts the far end on music on hold (or takes it off).
func (c *Call) Hold(ctx context.Context, held bool) error {
	return c.do(ctx, command{kind: cmdHold, on: held})
}

// SendDTMF sends digits to the far end.
func (c *Call) SendDTMF(ctx context.Context, digits string) error {
	if len(digits) == 0 || len(digits) > 32 {
		return fmt.Errorf("%w: 1 to 32 digits", ErrInvalidDTMF)
	}
	for _, d := range digits {
		if !(d >= '0' && d <= '9' || d == '*' || d == '#' || d >= 'A' && d <= 'D') {
			return fmt.Errorf("%w: %q", ErrInvalidDTMF, d)
		}
	}
	return c.do(ctx, command{kind: cmdDTMF, digits: digits})
}

func (c *Call) do(ctx context.Context, cmd command) error {
	cmd.reply = make(chan error, 1)
	select {
	case c.cmds <- cmd:
	case <-c.done:
		return fmt.Errorf("%w: call has ended", ErrInvalidState)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-cmd.reply:
		return err
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send delivers a command without waiting for its result.
func (c *Call) send(cmd command) {
	select {
	case c.cmds <- cmd:
	case <-c.done:
	}
}

func (c *Call) snapshot() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return State{CallID: c.id, Direction: c.direction, Number: c.number, CRMRef: c.crmRef,
		State: c.state, Cause: c.cause, Muted: c.muted, Held: c.held, At: c.m.now().UnixMilli()}
}

func (c *Call) publish() {
	if c.notify != nil {
		c.notify.Notify("call.state", c.snapshot())
	}
}

// setState moves the call forward (never back) and tells the browser and the record.
func (c *Call) setState(ctx context.Context, state string) {
	order := map[string]int{StateDialing: 0, StateRinging: 1, StateEarlyMedia: 2, StateAnswered: 3, StateEnded: 4}
	c.mu.Lock()
	if order[state] <= order[c.state] {
		c.mu.Unlock()
		return
	}
	c.state = state
	if state == StateAnswered {
		c.answered = true
	}
	c.mu.Unlock()
	now := c.m.now()
	u := store.CallUpdate{State: &state}
	switch state {
	case StateRinging:
		u.RingingAt = &now
	case StateAnswered:
		u.AnsweredAt = &now
	}
	if err := c.m.records.UpdateCall(ctx, c.id, u); err != nil {
		c.m.log.Error("call record update failed", "call", c.id, "err", err)
	}
	c.publish()
	if state == StateAnswered {
		c.m.emit(ctx, c.id, Events.CallAnswered)
	}
}

// ending is why the call ends.
type ending struct {
	cause string
	by    string // operator | remote | system
}

func (c *Call) run(ctx context.Context) {
	defer c.m.wg.Done()
	defer close(c.done)
	sub := c.m.pbx.Subscribe(0, c.bridgeID, c.mediaChanID, c.farChanID)
	defer sub.Close()

	var leg MediaLeg
	var end *ending
	if c.inbound {
		end = c.setupInbound(ctx, sub, &leg)
	} else {
		end = c.setup(ctx, sub, &leg)
	}
	if end == nil {
		end = c.follow(ctx, sub, leg)
	}
	c.cleanup(ctx, leg, *end)
}

// connectMedia attaches the operator's media leg to a new bridge through an
// externalMedia channel in the call's codec, and waits until that channel is
// in Stasis: Asterisk answers externalMedia before the channel is in Stasis,
// and adding it to a bridge earlier fails with 422 in about a third of tries.
func (c *Call) connectMedia(ctx context.Context, sub *ari.Subscription, legOut *MediaLeg) error {
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, c.m.cfg.SetupTimeout) }
	sctx, cancel := step()
	leg, err := c.media.AttachCall(sctx)
	cancel()
	if err != nil {
		return fmt.Errorf("attach media: %w", err)
	}
	*legOut = leg
	sctx, cancel = step()
	_, err = c.m.pbx.CreateBridge(sctx, ari.CreateBridgeParams{Type: []string{"mixing"}, BridgeID: c.bridgeID, Name: c.id})
	cancel()
	if err != nil {
		return fmt.Errorf("create bridge: %w", err)
	}
	sctx, cancel = step()
	em, err := c.m.pbx.ExternalMedia(sctx, ari.ExternalMediaParams{
		ChannelID: c.mediaChanID, ExternalHost: leg.LocalAddr().String(), Format: c.media.ExternalMediaFormat(),
	})
	cancel()
	if err != nil {
		return fmt.Errorf("external media: %w", err)
	}
	rtpAddr, err := em.LocalRTPAddr()
	if err != nil {
		return fmt.Errorf("external media address: %w", err)
	}
	if err := leg.SetRemote(net.UDPAddrFromAddrPort(rtpAddr)); err != nil {
		return fmt.Errorf("relay remote: %w", err)
	}
	sctx, cancel = step()
	_, _, err = ari.WaitStasisStart(sctx, sub, c.mediaChanID)
	cancel()
	if err != nil {
		return fmt.Errorf("external media stasis: %w", err)
	}
	return nil
}

func (c *Call) setupFailed(step string, err error) *ending {
	c.m.log.Warn("call setup failed", "call", c.id, "direction", c.direction, "step", step, "err", err)
	return &ending{cause: CauseFailed, by: "system"}
}

// setup connects the operator's media, then creates the far channel in
// Stasis and in the bridge before dialling it, so ringing and early media
// reach the operator. It returns nil when the far end is being dialled.
func (c *Call) setup(ctx context.Context, sub *ari.Subscription, legOut *MediaLeg) *ending {
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, c.m.cfg.SetupTimeout) }
	// A hangup from the operator during setup must not wait for setup to finish.
	if e := c.pendingHangup(); e != nil {
		return e
	}
	if err := c.connectMedia(ctx, sub, legOut); err != nil {
		return c.setupFailed("media", err)
	}
	if e := c.pendingHangup(); e != nil {
		return e
	}
	sctx, cancel := step()
	_, err := c.m.pbx.CreateChannel(sctx, ari.CreateParams{
		Endpoint:  dialEndpoint(c.m.cfg.Endpoint, c.number),
		AppArgs:   []string{"outbound", c.id},
		ChannelID: c.farChanID,
		Formats:   []string{c.media.ExternalMediaFormat()},
	})
	cancel()
	if err != nil {
		if errors.Is(err, ari.ErrBadRequest) || errors.Is(err, ari.ErrNotFound) {
			c.m.log.Warn("far channel refused", "call", c.id, "err", err)
			return &ending{cause: CauseUnreachable, by: "system"}
		}
		return c.setupFailed("create far channel", err)
	}
	sctx, cancel = step()
	_, _, err = ari.WaitStasisStart(sctx, sub, c.farChanID)
	cancel()
	if err != nil {
		return c.setupFailed("far channel stasis", err)
	}
	c.ready.Store(true) // events before StasisStart (ChannelDialplan...) change nothing here

	sctx, cancel = step()
	err = c.m.pbx.AddChannel(sctx, c.bridgeID, ari.AddChannelParams{Channels: []string{c.mediaChanID, c.farChanID}})
	cancel()
	if err != nil {
		return c.setupFailed("bridge channels", err)
	}
	if e := c.pendingHangup(); e != nil {
		return e
	}
	sctx, cancel = step()
	err = c.m.pbx.Dial(sctx, c.farChanID, "", c.m.cfg.RingTimeout)
	cancel()
	if err != nil {
		return c.setupFailed("dial", err)
	}
	return nil
}

// pendingHangup consumes commands that arrived during setup: a hangup ends
// the call as cancelled, mute is remembered, the rest must wait for answer.
func (c *Call) pendingHangup() *ending {
	for {
		select {
		case cmd := <-c.cmds:
			switch cmd.kind {
			case cmdHangup:
				reply(cmd, nil)
				return &ending{cause: CauseCancelled, by: cmd.by}
			case cmdDetach:
				return &ending{cause: CauseCancelled, by: "system"}
			case cmdMute:
				c.mu.Lock()
				c.muted = cmd.on
				c.mu.Unlock()
				reply(cmd, nil)
			default:
				reply(cmd, fmt.Errorf("%w: the call is not connected yet", ErrInvalidState))
			}
		default:
			return nil
		}
	}
}

func reply(cmd command, err error) {
	if cmd.reply != nil {
		cmd.reply <- err
	}
}

// follow reads Asterisk's events and the operator's commands until the call ends.
func (c *Call) follow(ctx context.Context, sub *ari.Subscription, leg MediaLeg) *ending {
	c.mu.Lock()
	leg.SetMuted(c.muted)
	c.mu.Unlock()
	// Asterisk ends an unanswered dial itself at RingTimeout; this is a backstop.
	backstop := time.NewTimer(c.m.cfg.RingTimeout + 2*c.m.cfg.SetupTimeout)
	defer backstop.Stop()
	var grace <-chan time.Time
	var remoteHangup bool
	for {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				c.m.log.Warn("call lost its event stream", "call", c.id, "err", sub.Err())
				return &ending{cause: CauseFailed, by: "system"}
			}
			if e := c.onEvent(ctx, ev, &remoteHangup); e != nil {
				return e
			}
			if c.isAnswered() {
				backstop.Stop()
			}
		case cmd := <-c.cmds:
			if e := c.onCommand(ctx, cmd, leg, &grace); e != nil {
				return e
			}
		case <-grace:
			c.m.log.Info("operator did not come back: hanging up", "call", c.id)
			return c.localEnd("system")
		case <-backstop.C:
			if !c.isAnswered() {
				return &ending{cause: CauseNoAnswer, by: "system"}
			}
		}
	}
}

func (c *Call) isAnswered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answered
}

func (c *Call) localEnd(by string) *ending {
	if c.isAnswered() {
		return &ending{cause: CauseLocalHangup, by: by}
	}
	return &ending{cause: CauseCancelled, by: by}
}

func (c *Call) onEvent(ctx context.Context, ev ari.Event, remoteHangup *bool) *ending {
	switch e := ev.(type) {
	case *ari.ChannelStateChange:
		if e.Channel.ID != c.farChanID {
			return nil
		}
		switch e.Channel.State {
		case "Ringing":
			c.setState(ctx, StateRinging)
		case "Up":
			c.setState(ctx, StateAnswered)
		}
	case *ari.Dial:
		if e.Peer.ID != c.farChanID {
			return nil
		}
		switch e.Dialstatus {
		case "RINGING":
			c.setState(ctx, StateRinging)
		case "PROGRESS":
			c.setState(ctx, StateEarlyMedia)
		case "ANSWER":
			c.setState(ctx, StateAnswered)
		}
	case *ari.ChannelHangupRequest:
		if e.Channel.ID == c.farChanID {
			*remoteHangup = true
		}
	case *ari.ChannelDestroyed:
		switch e.Channel.ID {
		case c.farChanID:
			return &ending{cause: c.causeOf(e.Cause), by: "remote"}
		case c.mediaChanID:
			c.m.log.Warn("media channel destroyed under a live call", "call", c.id, "cause", e.Cause)
			return &ending{cause: CauseFailed, by: "system"}
		}
	case *ari.StasisEnd:
		// Channels we created get ChannelDestroyed right after, with the cause.
		// A channel that came from the dialplan gets no ChannelDestroyed after
		// StasisEnd: for it StasisEnd is the end.
		if c.inbound && e.Channel.ID == c.farChanID {
			return &ending{cause: CauseRemoteHangup, by: "remote"}
		}
	case *ari.BridgeDestroyed:
		if e.Bridge.ID == c.bridgeID {
			return &ending{cause: CauseFailed, by: "system"}
		}
	}
	return nil
}

// causeOf maps the far channel's Q.850 hangup cause to the browser's cause.
func (c *Call) causeOf(q850 int) string {
	if c.isAnswered() {
		return CauseRemoteHangup
	}
	switch q850 {
	case 17, 21: // user busy, call rejected
		return CauseBusy
	case 18, 19: // no user responding, no answer
		return CauseNoAnswer
	case 1, 2, 3, 20, 22, 27, 28, 34, 38, 41, 42: // unallocated, no route, absent, out of order, invalid number, congestion
		return CauseUnreachable
	case 16:
		return CauseRemoteHangup
	}
	return CauseFailed
}

func (c *Call) onCommand(ctx context.Context, cmd command, leg MediaLeg, grace *<-chan time.Time) *ending {
	switch cmd.kind {
	case cmdHangup:
		reply(cmd, nil)
		return c.localEnd(cmd.by)
	case cmdLost:
		return &ending{cause: CauseFailed, by: "system"}
	case cmdDetach:
		t := time.NewTimer(c.m.cfg.DisconnectGrace)
		*grace = t.C
		c.notify = nil // the websocket is gone
		return nil
	case cmdMute:
		c.mu.Lock()
		c.muted = cmd.on
		held := c.held
		c.mu.Unlock()
		leg.SetMuted(cmd.on || held)
		reply(cmd, nil)
	case cmdHold:
		if !c.isAnswered() {
			reply(cmd, fmt.Errorf("%w: hold needs an answered call", ErrInvalidState))
			return nil
		}
		var err error
		if cmd.on {
			err = c.m.pbx.StartBridgeMOH(ctx, c.bridgeID, c.m.cfg.MOHClass)
		} else {
			err = c.m.pbx.StopBridgeMOH(ctx, c.bridgeID)
		}
		if err != nil {
			reply(cmd, fmt.Errorf("calls: hold: %w", err))
			return nil
		}
		c.mu.Lock()
		c.held = cmd.on
		muted := c.muted
		c.mu.Unlock()
		// While held nothing from the operator reaches the far end, whatever mute says.
		leg.SetMuted(cmd.on || muted)
		reply(cmd, nil)
	case cmdDTMF:
		if !c.isAnswered() {
			reply(cmd, fmt.Errorf("%w: DTMF needs an answered call", ErrInvalidState))
			return nil
		}
		reply(cmd, c.m.pbx.SendDTMF(ctx, c.farChanID, cmd.digits, ari.DTMFParams{}))
		return nil
	}
	c.publish()
	return nil
}

// cleanup destroys everything the call created, whatever state it reached,
// then closes the record.
func (c *Call) cleanup(ctx context.Context, leg MediaLeg, end ending) {
	cctx, cancel := context.WithTimeout(ctx, 2*c.m.cfg.SetupTimeout)
	defer cancel()
	ignoreGone := func(what string, err error) {
		if err != nil && !errors.Is(err, ari.ErrNotFound) {
			c.m.log.Warn("call cleanup", "call", c.id, "step", what, "err", err)
		}
	}
	if end.by != "remote" {
		ignoreGone("hangup far", c.m.pbx.Hangup(cctx, c.farChanID, "normal"))
	}
	ignoreGone("hangup media", c.m.pbx.Hangup(cctx, c.mediaChanID, "normal"))
	ignoreGone("destroy bridge", c.m.pbx.DestroyBridge(cctx, c.bridgeID))
	stats := "{}"
	if leg != nil {
		stats = c.media.LegStats(leg)
		leg.Close()
	}
	c.mu.Lock()
	c.state, c.cause = StateEnded, end.cause
	c.mu.Unlock()
	now := c.m.now()
	state := StateEnded
	if err := c.m.records.UpdateCall(cctx, c.id, store.CallUpdate{
		State: &state, Cause: &end.cause, HangupBy: &end.by, EndedAt: &now, MediaStats: &stats,
	}); err != nil {
		c.m.log.Error("call record update failed", "call", c.id, "err", err)
	}
	c.m.emit(cctx, c.id, Events.CallEnded)
	c.m.forget(c)
	c.publish()
	// Commands that raced with the end get their answer.
	for {
		select {
		case cmd := <-c.cmds:
			reply(cmd, fmt.Errorf("%w: call has ended", ErrInvalidState))
		default:
			c.m.log.Info("call ended", "call", c.id, "operator", c.op.ID, "cause", end.cause, "by", end.by)
			return
		}
	}
}

func dialEndpoint(template, number string) string {
	out := []byte{}
	for i := 0; i < len(template); {
		if i+8 <= len(template) && template[i:i+8] == "{number}" {
			out = append(out, number...)
			i += 8
			continue
		}
		out = append(out, template[i])
		i++
	}
	return string(out)
}
