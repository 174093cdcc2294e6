// Package inbound routes calls that the Asterisk dialplan hands to the
// crmphone Stasis application: it rings the caller, offers the call to the
// available operators of its routing target with the CRM's client card,
// connects the first operator who answers, and turns calls nobody answered
// into missed calls with a callback task.
package inbound

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/controller/calls"
	"github.com/crmphone/crmphone/controller/crmlookup"
	"github.com/crmphone/crmphone/controller/store"
)

// PBX is what routing needs from Asterisk; *ari.Client satisfies it.
type PBX interface {
	Subscribe(buffer int, keys ...string) *ari.Subscription
	Ring(ctx context.Context, id string) error
	Hangup(ctx context.Context, id, reason string) error
	Continue(ctx context.Context, id string, p ari.ContinueParams) error
}

// Store is where targets, calls and tasks live; *store.Store satisfies it.
type Store interface {
	GetRoutingTarget(ctx context.Context, id string) (store.RoutingTarget, error)
	GetOperator(ctx context.Context, id string) (store.Operator, error)
	CreateCall(ctx context.Context, c store.Call) error
	UpdateCall(ctx context.Context, id string, u store.CallUpdate) error
	GetCall(ctx context.Context, id string) (store.Call, error)
	CreateTask(ctx context.Context, t store.CallbackTask) error
}

// Agents is who takes calls; *agents.Registry satisfies it.
type Agents interface {
	Candidates(members []string) []string
	State(operatorID string) (string, time.Time)
	Reserve(operatorID string) bool
	Release(operatorID string)
	StartCall(operatorID string)
	EndCall(operatorID string)
	Notify(operatorID, event string, data any)
	NotifyExcept(operatorID, exceptSession, event string, data any)
}

// Calls connects an answered offer; *calls.Manager satisfies it.
type Calls interface {
	AnswerInbound(ctx context.Context, op calls.Operator, media calls.Media, notify calls.Notifier, in calls.InboundChannel) (*calls.Call, error)
}

// Lookup finds the caller's card in the CRM; *crmlookup.Client satisfies it.
type Lookup interface {
	Lookup(ctx context.Context, number string) (*crmlookup.Card, error)
}

// Events tells the CRM about offered and missed calls (webhooks).
type Events interface {
	CallOffered(ctx context.Context, c store.Call)
	CallMissed(ctx context.Context, c store.Call, reason string)
	TasksChanged(ctx context.Context, targetID string, members []string)
}

// Missed-call reasons.
const (
	MissedNobodyAvailable = "nobody_available"
	MissedTimeout         = "timeout"
	MissedCallerHungUp    = "caller_hung_up"
	MissedRejected        = "rejected"
)

// Errors of Answer and Reject.
var (
	ErrUnknownOffer = errors.New("no such offer")
)

// Router owns the calls being offered.
type Router struct {
	pbx    PBX
	store  Store
	agents Agents
	calls  Calls
	lookup Lookup
	events Events
	log    *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	offers map[string]*offer // by call id
	byChan map[string]*offer // by caller channel id
	rr     map[string]int    // round-robin position per target
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// New creates a router.
func New(pbx PBX, st Store, ag Agents, c Calls, lookup Lookup, events Events, log *slog.Logger) *Router {
	ctx, cancel := context.WithCancel(context.Background())
	return &Router{pbx: pbx, store: st, agents: ag, calls: c, lookup: lookup, events: events, log: log, now: time.Now,
		offers: map[string]*offer{}, byChan: map[string]*offer{}, ctx: ctx, cancel: cancel}
}

// Shutdown withdraws every offer (the callers continue in the dialplan) and
// waits for the offer goroutines.
func (r *Router) Shutdown(ctx context.Context) error {
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("inbound: shutdown: %w", ctx.Err())
	}
}

// HandleEvent takes the events of the catch-all subscription: the
// StasisStart of a new caller, and events of callers being offered that
// arrived before their own subscription existed.
func (r *Router) HandleEvent(ev ari.Event) {
	if ss, ok := ev.(*ari.StasisStart); ok {
		r.start(ss)
		return
	}
	for _, id := range ev.ChannelIDs() {
		r.mu.Lock()
		o := r.byChan[id]
		r.mu.Unlock()
		if o != nil {
			o.deliver(ev)
		}
	}
}

// Offer data sent to browsers.
type offerData struct {
	CallID    string          `json:"call_id"`
	Number    string          `json:"number"`
	Name      string          `json:"name,omitempty"`
	Target    string          `json:"target"`
	OfferedAt int64           `json:"offered_at"`
	Card      *crmlookup.Card `json:"card,omitempty"`
}

type offer struct {
	r         *Router
	id        string
	channelID string
	number    string
	name      string
	target    store.RoutingTarget
	created   time.Time

	events  chan ari.Event
	answers chan answerReq
	rejects chan string // operator ids
	cards   chan *crmlookup.Card

	mu      sync.Mutex
	ringing map[string]bool // operators currently offered
	card    *crmlookup.Card
	done    bool
}

type answerReq struct {
	op     calls.Operator
	media  calls.Media
	notify calls.Notifier
	reply  chan answerResult
}

type answerResult struct {
	call *calls.Call
	err  error
}

func (o *offer) deliver(ev ari.Event) {
	select {
	case o.events <- ev:
	default:
		o.r.log.Warn("inbound: offer event queue full", "call", o.id)
	}
}

func newID(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// CallerNumber keeps what a caller ID number may hold (digits, +, *, #),
// bounded; an empty or hostile one becomes "anonymous".
func CallerNumber(raw string) string {
	var b strings.Builder
	for i, r := range raw {
		if r >= '0' && r <= '9' || r == '*' || r == '#' || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
		if b.Len() == calls.MaxNumberLen {
			break
		}
	}
	if b.Len() == 0 || b.String() == "+" {
		return "anonymous"
	}
	return b.String()
}

func (r *Router) start(ss *ari.StasisStart) {
	ch := ss.Channel
	// The dialplan says Stasis(crmphone,inbound,<target>); without arguments
	// the dialled extension is the target.
	target := ch.Dialplan.Exten
	if len(ss.Args) > 0 && ss.Args[0] != "inbound" {
		r.log.Info("inbound: ignoring StasisStart with unknown arguments", "channel", ch.ID, "args", ss.Args)
		return
	}
	if len(ss.Args) > 1 && ss.Args[1] != "" {
		target = ss.Args[1]
	}
	o := &offer{
		r: r, id: newID("c"), channelID: ch.ID, created: r.now(),
		number: CallerNumber(ch.Caller.Number), name: crmlookup.Clean(ch.Caller.Name, 64),
		events: make(chan ari.Event, 64), answers: make(chan answerReq), rejects: make(chan string, 16),
		cards: make(chan *crmlookup.Card, 1), ringing: map[string]bool{},
	}
	r.mu.Lock()
	if r.ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	r.offers[o.id], r.byChan[ch.ID] = o, o
	r.wg.Add(1)
	r.mu.Unlock()
	go o.run(target)
}

// Answer connects the operator's session to the offered call. First come,
// first served: a late answer gets ErrUnknownOffer.
func (r *Router) Answer(ctx context.Context, op calls.Operator, media calls.Media, notify calls.Notifier, callID string) (*calls.Call, error) {
	r.mu.Lock()
	o := r.offers[callID]
	r.mu.Unlock()
	if o == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownOffer, callID)
	}
	req := answerReq{op: op, media: media, notify: notify, reply: make(chan answerResult, 1)}
	select {
	case o.answers <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(5 * time.Second):
		return nil, fmt.Errorf("%w: %q", ErrUnknownOffer, callID)
	}
	res := <-req.reply
	return res.call, res.err
}

// Reject declines the offer for the operator.
func (r *Router) Reject(operatorID, callID string) error {
	r.mu.Lock()
	o := r.offers[callID]
	r.mu.Unlock()
	if o == nil {
		return fmt.Errorf("%w: %q", ErrUnknownOffer, callID)
	}
	o.mu.Lock()
	offered := o.ringing[operatorID]
	o.mu.Unlock()
	if !offered {
		return fmt.Errorf("%w: %q", ErrUnknownOffer, callID)
	}
	select {
	case o.rejects <- operatorID:
		return nil
	default:
		return fmt.Errorf("%w: %q", ErrUnknownOffer, callID)
	}
}
