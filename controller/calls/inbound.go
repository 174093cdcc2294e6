package calls

import (
	"context"

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
	c := &Call{
		m: m, id: in.CallID, op: op, media: media, notify: notify, number: in.Number,
		direction: "inbound", inbound: true, state: StateRinging, created: m.now(),
		bridgeID: idPrefix + "b-" + in.CallID, mediaChanID: idPrefix + "m-" + in.CallID, farChanID: in.ChannelID,
		cmds: make(chan command, 8), done: make(chan struct{}),
	}
	if err := m.register(c); err != nil {
		return nil, err
	}
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
	if err := c.connectMedia(ctx, sub, legOut); err != nil {
		return c.setupFailed("media", err)
	}
	c.ready.Store(true)
	sctx, cancel := context.WithTimeout(ctx, c.m.cfg.SetupTimeout)
	defer cancel()
	if err := c.m.pbx.AddChannel(sctx, c.bridgeID, ari.AddChannelParams{Channels: []string{c.mediaChanID, c.farChanID}}); err != nil {
		if errIsGone(err) {
			return &ending{cause: CauseCancelled, by: "remote"}
		}
		return c.setupFailed("bridge channels", err)
	}
	if err := c.m.pbx.Answer(sctx, c.farChanID); err != nil {
		if errIsGone(err) {
			return &ending{cause: CauseCancelled, by: "remote"}
		}
		return c.setupFailed("answer", err)
	}
	c.setState(ctx, StateAnswered)
	return nil
}
