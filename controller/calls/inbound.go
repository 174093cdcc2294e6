package calls

import (
	"context"
	"fmt"
	"net"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/controller/store"
)

// InboundChannel is a caller's channel, in Stasis and ringing, that an
// operator has accepted. Its call record exists already (the router created
// it when the call was offered).
type InboundChannel struct {
	CallID    string
	ChannelID string
	Number    string
}

// AnswerInbound connects the caller to the operator through the operator's
// warm media path and answers the caller. It returns once the call is
// running; progress reaches notify as call.state events.
func (m *Manager) AnswerInbound(ctx context.Context, op Operator, media Media, notify Notifier, in InboundChannel) (*Call, error) {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: shutting down", ErrInvalidState)
	}
	for _, c := range m.calls {
		if c.op.SessionID == op.SessionID {
			m.mu.Unlock()
			return nil, ErrBusyHere
		}
	}
	c := &Call{
		m: m, id: in.CallID, op: op, media: media, notify: notify, number: in.Number,
		direction: "inbound", inbound: true, state: StateRinging, created: m.now(),
		bridgeID: idPrefix + "b-" + in.CallID, mediaChanID: idPrefix + "m-" + in.CallID, farChanID: in.ChannelID,
		cmds: make(chan command, 8), done: make(chan struct{}),
	}
	m.calls[c.id] = c
	m.wg.Add(1)
	m.mu.Unlock()
	opID, sess, codec := op.ID, op.SessionID, media.CodecName()
	if err := m.records.UpdateCall(ctx, c.id, store.CallUpdate{OperatorID: &opID, SessionID: &sess, Codec: &codec,
		MediaChannelID: &c.mediaChanID, BridgeID: &c.bridgeID}); err != nil {
		m.forget(c)
		m.wg.Done()
		return nil, err
	}
	go c.run(context.WithoutCancel(ctx))
	return c, nil
}

// setupInbound bridges the caller with the operator's media and answers.
func (c *Call) setupInbound(ctx context.Context, sub *ari.Subscription, legOut *MediaLeg) *ending {
	fail := func(step string, err error) *ending {
		c.m.log.Warn("inbound call setup failed", "call", c.id, "step", step, "err", err)
		return &ending{cause: CauseFailed, by: "system"}
	}
	sctx, cancel := context.WithTimeout(ctx, c.m.cfg.SetupTimeout)
	defer cancel()
	leg, err := c.media.AttachCall(sctx)
	if err != nil {
		return fail("attach media", err)
	}
	*legOut = leg
	if _, err := c.m.pbx.CreateBridge(sctx, ari.CreateBridgeParams{Type: []string{"mixing"}, BridgeID: c.bridgeID, Name: c.id}); err != nil {
		return fail("create bridge", err)
	}
	em, err := c.m.pbx.ExternalMedia(sctx, ari.ExternalMediaParams{
		ChannelID: c.mediaChanID, ExternalHost: leg.LocalAddr().String(), Format: c.media.ExternalMediaFormat(),
	})
	if err != nil {
		return fail("external media", err)
	}
	rtpAddr, err := em.LocalRTPAddr()
	if err != nil {
		return fail("external media address", err)
	}
	if err := leg.SetRemote(net.UDPAddrFromAddrPort(rtpAddr)); err != nil {
		return fail("relay remote", err)
	}
	if _, _, err := ari.WaitStasisStart(sctx, sub, c.mediaChanID); err != nil {
		return fail("external media stasis", err)
	}
	c.ready.Store(true)
	if err := c.m.pbx.AddChannel(sctx, c.bridgeID, ari.AddChannelParams{Channels: []string{c.mediaChanID, c.farChanID}}); err != nil {
		if errIsGone(err) {
			return &ending{cause: CauseCancelled, by: "remote"}
		}
		return fail("bridge channels", err)
	}
	if err := c.m.pbx.Answer(sctx, c.farChanID); err != nil {
		if errIsGone(err) {
			return &ending{cause: CauseCancelled, by: "remote"}
		}
		return fail("answer", err)
	}
	c.setState(ctx, StateAnswered)
	return nil
}
