// Package agents is the one registry of operators online on this
// controller: their logged-in sessions (softphone tabs), which tabs have a
// working media path, and their availability (available, ringing, on call,
// wrap-up, away). Login puts a session online; inbound routing offers calls
// only to available operators, longest idle first for that strategy.
package agents

import (
	"context"
	"sort"
	"sync"
	"time"
)

// States of an operator.
const (
	Available = "available"
	Ringing   = "ringing"
	OnCall    = "on_call"
	WrapUp    = "wrap_up"
	Away      = "away"
	Offline   = "offline"
)

// Tab is one logged-in softphone of an operator.
type Tab interface {
	Notify(event string, data any)
}

// Registry is the in-process registry of operators taking calls.
type Registry struct {
	wrapUp time.Duration
	now    func() time.Time

	mu     sync.Mutex
	agents map[string]*agent
	closed bool
}

type agent struct {
	id          string
	displayName string
	online      time.Time // since when
	state       string
	until       time.Time       // end of wrap-up
	idleSince   time.Time       // when the operator last became available
	tabs        map[string]Tab  // by session id; nil until the softphone attaches it
	media       map[string]bool // tabs with a media path
	timer       *time.Timer
	offers      int // offers currently ringing this operator
}

// New returns a registry; after a call an operator stays in wrap-up for wrapUp.
func New(wrapUp time.Duration) *Registry {
	return &Registry{wrapUp: wrapUp, now: time.Now, agents: map[string]*agent{}}
}

// Entry is one online operator.
type Entry struct {
	OperatorID  string    `json:"operator_id"`
	DisplayName string    `json:"display_name"`
	Sessions    int       `json:"sessions"`
	Since       time.Time `json:"since"`
	State       string    `json:"state"`
}

// Join puts a logged-in session of the operator online and returns how many
// sessions the operator has; a new operator starts available.
func (r *Registry) Join(_ context.Context, operatorID, displayName, sessionID string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.agents[operatorID]
	if a == nil {
		now := r.now()
		a = &agent{id: operatorID, state: Available, online: now, idleSince: now, tabs: map[string]Tab{}, media: map[string]bool{}}
		r.agents[operatorID] = a
	}
	a.displayName = displayName
	if _, ok := a.tabs[sessionID]; !ok {
		a.tabs[sessionID] = nil
	}
	return len(a.tabs), nil
}

// AttachTab gives a joined session the way to reach its browser tab, and
// tells the tab the operator's state.
func (r *Registry) AttachTab(operatorID, sessionID string, tab Tab) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.agents[operatorID]
	if a == nil {
		return
	}
	if _, joined := a.tabs[sessionID]; !joined {
		return
	}
	a.tabs[sessionID] = tab
	r.publishLocked(a)
}

// Leave takes a session offline; the operator goes offline with the last
// one. It returns the sessions left.
func (r *Registry) Leave(_ context.Context, operatorID, sessionID string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.agents[operatorID]
	if a == nil {
		return 0, nil
	}
	delete(a.tabs, sessionID)
	delete(a.media, sessionID)
	if len(a.tabs) == 0 {
		if a.timer != nil {
			a.timer.Stop()
		}
		delete(r.agents, operatorID)
	}
	return len(a.tabs), nil
}

// Online lists online operators ordered by id.
func (r *Registry) Online(_ context.Context) ([]Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Entry, 0, len(r.agents))
	for _, a := range r.agents {
		out = append(out, a.entry())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OperatorID < out[j].OperatorID })
	return out, nil
}

// Get returns one operator's entry; ok is false when offline.
func (r *Registry) Get(_ context.Context, operatorID string) (Entry, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.agents[operatorID]; a != nil {
		return a.entry(), true, nil
	}
	return Entry{}, false, nil
}

func (a *agent) entry() Entry {
	return Entry{OperatorID: a.id, DisplayName: a.displayName, Sessions: len(a.tabs), Since: a.online, State: a.state}
}

// SetMedia records whether the tab has a working media path.
func (r *Registry) SetMedia(operatorID, sessionID string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.agents[operatorID]; a != nil {
		if ok {
			a.media[sessionID] = true
		} else {
			delete(a.media, sessionID)
		}
	}
}

// SetAway sets the operator away or back to available. It does not
// interrupt ringing or a call: away takes effect only from available or
// wrap-up.
func (r *Registry) SetAway(operatorID string, away bool) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.agents[operatorID]
	if a == nil {
		return Offline, false
	}
	switch {
	case away && (a.state == Available || a.state == WrapUp):
		r.setLocked(a, Away)
	case !away && (a.state == Away || a.state == WrapUp):
		r.setLocked(a, Available)
	default:
		return a.state, a.state == Away == away
	}
	return a.state, true
}

// State returns the operator's state and the end of its wrap-up.
func (r *Registry) State(operatorID string) (string, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.agents[operatorID]; a != nil {
		return a.state, a.until
	}
	return Offline, time.Time{}
}

// Candidates returns the members who are available with a media path, longest idle first.
func (r *Registry) Candidates(members []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*agent
	for _, id := range members {
		if a := r.agents[id]; a != nil && a.state == Available && len(a.media) > 0 {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].idleSince.Before(out[j].idleSince) })
	ids := make([]string, len(out))
	for i, a := range out {
		ids[i] = a.id
	}
	return ids
}

// Reserve moves an available operator to ringing for one offer; false if
// the operator is not available any more.
func (r *Registry) Reserve(operatorID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.agents[operatorID]
	if a == nil || a.state != Available || len(a.media) == 0 {
		return false
	}
	a.offers++
	r.setLocked(a, Ringing)
	return true
}

// Release ends one offer to the operator (not answered by them).
func (r *Registry) Release(operatorID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.agents[operatorID]
	if a == nil || a.state != Ringing {
		return
	}
	if a.offers--; a.offers <= 0 {
		a.offers = 0
		r.setLocked(a, Available)
	}
}

// StartCall marks the operator on a call (answered an offer, or dialling out).
func (r *Registry) StartCall(operatorID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.agents[operatorID]; a != nil {
		a.offers = 0
		r.setLocked(a, OnCall)
	}
}

// EndCall starts the operator's wrap-up, after which it is available again.
func (r *Registry) EndCall(operatorID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.agents[operatorID]
	if a == nil || a.state != OnCall {
		return
	}
	if r.wrapUp <= 0 || r.closed {
		r.setLocked(a, Available)
		return
	}
	a.until = r.now().Add(r.wrapUp)
	r.setLocked(a, WrapUp)
	a.timer = time.AfterFunc(r.wrapUp, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if cur := r.agents[operatorID]; cur == a && a.state == WrapUp {
			r.setLocked(a, Available)
		}
	})
}

func (r *Registry) setLocked(a *agent, state string) {
	if a.timer != nil && state != WrapUp {
		a.timer.Stop()
		a.timer = nil
	}
	if state == Available && a.state != Available {
		a.idleSince = r.now()
	}
	if state != WrapUp {
		a.until = time.Time{}
	}
	a.state = state
	r.publishLocked(a)
}

func (r *Registry) publishLocked(a *agent) {
	data := map[string]any{"state": a.state}
	if !a.until.IsZero() {
		data["until"] = a.until.UnixMilli()
	}
	for _, t := range a.tabs {
		if t != nil {
			t.Notify("presence", data)
		}
	}
}

// Notify sends an event to every tab of the operator.
func (r *Registry) Notify(operatorID, event string, data any) {
	r.NotifyExcept(operatorID, "", event, data)
}

// NotifyExcept sends an event to every tab of the operator but one.
func (r *Registry) NotifyExcept(operatorID, exceptSession, event string, data any) {
	r.mu.Lock()
	var tabs []Tab
	if a := r.agents[operatorID]; a != nil {
		for sid, t := range a.tabs {
			if sid != exceptSession && t != nil {
				tabs = append(tabs, t)
			}
		}
	}
	r.mu.Unlock()
	for _, t := range tabs {
		t.Notify(event, data)
	}
}

// Tabs is how many softphone tabs the operator has open.
func (r *Registry) Tabs(operatorID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.agents[operatorID]; a != nil {
		return len(a.tabs)
	}
	return 0
}

// Close stops wrap-up timers.
func (r *Registry) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, a := range r.agents {
		if a.timer != nil {
			a.timer.Stop()
		}
	}
}
