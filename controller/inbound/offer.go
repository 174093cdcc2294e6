package inbound

import (
	"context"
	"errors"
	"time"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/controller/calls"
	"github.com/crmphone/crmphone/controller/crmlookup"
	"github.com/crmphone/crmphone/controller/store"
)

func (r *Router) forget(o *offer) {
	r.mu.Lock()
	delete(r.offers, o.id)
	delete(r.byChan, o.channelID)
	r.mu.Unlock()
}

// resolve finds the routing target: a configured one, else an operator of
// that id on their own, else nobody.
func (r *Router) resolve(ctx context.Context, id string) store.RoutingTarget {
	t, err := r.store.GetRoutingTarget(ctx, id)
	if err == nil {
		return t
	}
	t = store.RoutingTarget{ID: id, Strategy: "ring_all", RingTimeoutS: 30, MemberTimeoutS: 15, OnNoAnswer: "continue"}
	if !errors.Is(err, store.ErrNotFound) {
		r.log.Error("inbound: routing target lookup failed", "target", id, "err", err)
		return t
	}
	if _, err := r.store.GetOperator(ctx, id); err == nil {
		t.Members = []string{id}
	} else {
		r.log.Warn("inbound: unknown routing target", "target", id)
	}
	return t
}

func (o *offer) data() offerData {
	o.mu.Lock()
	defer o.mu.Unlock()
	return offerData{CallID: o.id, Number: o.number, Name: o.name, Target: o.target.ID, OfferedAt: o.created.UnixMilli(), Card: o.card}
}

// offerTo rings the operator if still available.
func (o *offer) offerTo(opID string) bool {
	if !o.r.agents.Reserve(opID) {
		return false
	}
	o.mu.Lock()
	o.ringing[opID] = true
	o.mu.Unlock()
	o.r.agents.Notify(opID, "call.offer", o.data())
	return true
}

// withdraw ends the offer to one operator.
func (o *offer) withdraw(opID, reason string) {
	o.mu.Lock()
	was := o.ringing[opID]
	delete(o.ringing, opID)
	o.mu.Unlock()
	if !was {
		return
	}
	o.r.agents.Release(opID)
	o.r.agents.Notify(opID, "call.offer_withdrawn", map[string]string{"call_id": o.id, "reason": reason})
}

func (o *offer) withdrawAll(reason string) {
	for _, id := range o.ringingIDs() {
		o.withdraw(id, reason)
	}
}

func (o *offer) ringingIDs() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	ids := make([]string, 0, len(o.ringing))
	for id := range o.ringing {
		ids = append(ids, id)
	}
	return ids
}

func (o *offer) run(targetID string) {
	r := o.r
	defer r.wg.Done()
	defer r.forget(o)
	ctx := r.ctx
	sub := r.pbx.Subscribe(0, o.channelID)
	defer sub.Close()

	o.target = r.resolve(ctx, targetID)
	t := o.target
	if err := r.store.CreateCall(ctx, store.Call{
		ID: o.id, Direction: "inbound", Number: o.number, CallerName: o.name, State: calls.StateRinging,
		CreatedAt: o.created, FarChannelID: o.channelID, TargetID: t.ID,
	}); err != nil {
		r.log.Error("inbound: call record", "err", err)
	}
	r.log.Info("inbound call", "call", o.id, "channel", o.channelID, "target", t.ID, "number", o.number)
	// The caller hears ringing while operators are offered the call.
	if err := r.pbx.Ring(ctx, o.channelID); err != nil {
		if errors.Is(err, ari.ErrNotFound) || errors.Is(err, ari.ErrNotInStasis) {
			o.missed(MissedCallerHungUp)
			return
		}
		r.log.Warn("inbound: ring indication failed", "call", o.id, "err", err)
	}
	if rec, err := r.store.GetCall(ctx, o.id); err == nil && r.events != nil {
		r.events.CallOffered(ctx, rec)
	}
	// The card never delays ringing: the offer goes out now, the card when it comes.
	lookupCtx, stopLookup := context.WithCancel(ctx)
	defer stopLookup()
	if r.lookup != nil && o.number != "anonymous" {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			card, err := r.lookup.Lookup(lookupCtx, o.number)
			if err != nil {
				if !errors.Is(err, crmlookup.ErrNotFound) && lookupCtx.Err() == nil {
					r.log.Warn("inbound: CRM lookup failed", "call", o.id, "err", err)
				}
				return
			}
			select {
			case o.cards <- card:
			case <-lookupCtx.Done():
			}
		}()
	}

	sequential := t.Strategy == "longest_idle" || t.Strategy == "round_robin"
	tried := map[string]bool{}
	next := func() bool { // sequential: ring the next available member
		for round := 0; round < 2; round++ {
			for _, id := range o.order(tried) {
				tried[id] = true
				if o.offerTo(id) {
					return true
				}
			}
			if round == 0 && len(tried) > 0 {
				tried = map[string]bool{} // everybody had a turn: start over
			}
		}
		return false
	}
	offerAll := func() bool {
		any := false
		for _, id := range r.agents.Candidates(t.Members) {
			if !tried[id] {
				tried[id] = true
				any = o.offerTo(id) || any
			}
		}
		return any
	}
	var started bool
	if sequential {
		started = next()
	} else {
		started = offerAll()
	}
	if !started && !o.anyMemberOnline() {
		o.missed(MissedNobodyAvailable)
		return
	}
	// Members are online but busy (on a call, ringing for another caller,
	// wrap-up): the caller keeps ringing until one is free or the timeout.
	ringTimeout := time.Duration(max(t.RingTimeoutS, 1)) * time.Second
	deadline := time.NewTimer(ringTimeout)
	defer deadline.Stop()
	memberTimeout := time.Duration(max(t.MemberTimeoutS, 1)) * time.Second
	member := time.NewTimer(memberTimeout)
	defer member.Stop()
	if !sequential {
		member.Stop()
	} else if !started {
		member.Reset(time.Second) // nobody free yet: look again shortly
	}
	recheck := time.NewTicker(time.Second) // ring_all: operators who became available meanwhile
	defer recheck.Stop()
	rejected := false

	for {
		var ev ari.Event
		select {
		case ev = <-sub.Events():
		case ev = <-o.events:
		case card := <-o.cards:
			o.mu.Lock()
			o.card = card
			o.mu.Unlock()
			for _, id := range o.ringingIDs() {
				r.agents.Notify(id, "call.card", map[string]any{"call_id": o.id, "card": card})
			}
			continue
		case req := <-o.answers:
			if o.answer(ctx, req) {
				return
			}
			continue
		case opID := <-o.rejects:
			rejected = true
			o.withdraw(opID, "rejected")
			if len(o.ringingIDs()) > 0 {
				continue
			}
			if (sequential && next()) || (!sequential && offerAll()) {
				member.Reset(memberTimeout)
				continue
			}
			o.missed(MissedRejected)
			return
		case <-member.C:
			for _, id := range o.ringingIDs() {
				o.withdraw(id, "timeout")
			}
			if next() {
				member.Reset(memberTimeout)
			} else {
				member.Reset(time.Second) // nobody free right now: look again shortly
			}
			continue
		case <-recheck.C:
			if !sequential {
				offerAll()
			}
			continue
		case <-deadline.C:
			reason := MissedTimeout
			if rejected && len(o.ringingIDs()) == 0 {
				reason = MissedRejected
			}
			o.missed(reason)
			return
		case <-ctx.Done():
			o.missed(MissedNobodyAvailable)
			return
		}
		switch e := ev.(type) {
		case *ari.StasisEnd, *ari.ChannelHangupRequest, *ari.ChannelDestroyed:
			if chanOf(e) == o.channelID {
				o.missed(MissedCallerHungUp)
				return
			}
		}
	}
}

func (o *offer) anyMemberOnline() bool {
	for _, id := range o.target.Members {
		if st, _ := o.r.agents.State(id); st != "offline" {
			return true
		}
	}
	return false
}

func chanOf(ev ari.Event) string {
	if ids := ev.ChannelIDs(); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// order is the sequential strategies' order of untried available members:
// longest idle first (round robin rotates through the configured order).
func (o *offer) order(tried map[string]bool) []string {
	var out []string
	cands := o.r.agents.Candidates(o.target.Members)
	if o.target.Strategy == "round_robin" {
		avail := map[string]bool{}
		for _, id := range cands {
			avail[id] = true
		}
		start := o.r.rotate(o.target.ID, len(o.target.Members))
		for i := range o.target.Members {
			id := o.target.Members[(start+i)%len(o.target.Members)]
			if avail[id] && !tried[id] {
				out = append(out, id)
			}
		}
		return out
	}
	for _, id := range cands {
		if !tried[id] {
			out = append(out, id)
		}
	}
	return out
}

// answer connects the first operator to answer; it reports whether the
// offer is over.
func (o *offer) answer(ctx context.Context, req answerReq) bool {
	r := o.r
	o.mu.Lock()
	offered := o.ringing[req.op.ID]
	if offered {
		delete(o.ringing, req.op.ID)
	}
	o.mu.Unlock()
	if !offered {
		req.reply <- answerResult{err: ErrUnknownOffer}
		return false
	}
	o.withdrawAll("answered_elsewhere")
	r.agents.StartCall(req.op.ID)
	r.agents.NotifyExcept(req.op.ID, req.op.SessionID, "call.offer_withdrawn", map[string]string{"call_id": o.id, "reason": "answered_elsewhere"})
	call, err := r.calls.AnswerInbound(ctx, req.op, req.media, req.notify, calls.InboundChannel{CallID: o.id, ChannelID: o.channelID, Number: o.number})
	if err != nil {
		r.agents.EndCall(req.op.ID)
		req.reply <- answerResult{err: err}
		o.missed(MissedNobodyAvailable)
		return true
	}
	req.reply <- answerResult{call: call}
	return true
}

// missed closes an unanswered call: record, callback task, CRM event, and
// the caller continues in the dialplan (voicemail, queue) or is hung up.
func (o *offer) missed(reason string) {
	r := o.r
	ctx := context.WithoutCancel(r.ctx)
	withdrawReason := "timeout"
	if reason == MissedCallerHungUp {
		withdrawReason = "caller_hung_up"
	}
	o.withdrawAll(withdrawReason)
	now := r.now()
	state, cause, by := calls.StateEnded, "missed", "system"
	if reason == MissedCallerHungUp {
		by = "remote"
	}
	if err := r.store.UpdateCall(ctx, o.id, store.CallUpdate{State: &state, Cause: &cause, HangupBy: &by, EndedAt: &now, MissedReason: &reason}); err != nil {
		r.log.Error("inbound: call record", "call", o.id, "err", err)
	}
	if o.number != "anonymous" {
		if err := r.store.CreateTask(ctx, store.CallbackTask{ID: newID("t"), Number: o.number, Name: o.name, TargetID: o.target.ID,
			CallID: o.id, Reason: reason, CreatedAt: now}); err != nil {
			r.log.Error("inbound: callback task", "call", o.id, "err", err)
		}
	}
	if r.events != nil {
		if rec, err := r.store.GetCall(ctx, o.id); err == nil {
			r.events.CallMissed(ctx, rec, reason)
		}
		r.events.TasksChanged(ctx, o.target.ID, o.target.Members)
	}
	r.log.Info("inbound call missed", "call", o.id, "target", o.target.ID, "reason", reason)
	if reason == MissedCallerHungUp {
		return
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var err error
	if o.target.OnNoAnswer == "hangup" {
		cause := o.target.HangupCause
		if cause == "" {
			cause = "normal"
		}
		err = r.pbx.Hangup(actx, o.channelID, cause)
	} else {
		p := ari.ContinueParams{Context: o.target.ContinueContext, Extension: o.target.ContinueExten}
		if p.Context != "" || p.Extension != "" {
			p.Priority = int64(max(o.target.ContinuePriority, 1))
		}
		err = r.pbx.Continue(actx, o.channelID, p)
	}
	if err != nil && !errors.Is(err, ari.ErrNotFound) {
		r.log.Warn("inbound: handing the caller back failed", "call", o.id, "err", err)
	}
}

// rotate returns the round-robin start index for a target and advances it.
func (r *Router) rotate(target string, n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rr == nil {
		r.rr = map[string]int{}
	}
	i := r.rr[target] % max(n, 1)
	r.rr[target] = i + 1
	return i
}
