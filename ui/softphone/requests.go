package softphone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Requests are click-to-call requests from the CRM waiting for the
// operator's page to dial them. Every tab of the operator is asked; the first
// tab's call takes the request, so two tabs never place two calls.
type Requests struct {
	ttl    time.Duration
	now    func() time.Time
	notify func(operatorID, event string, data any)
	tabs   func(operatorID string) int

	mu      sync.Mutex
	pending map[string]request
}

type request struct {
	operatorID, number, crmRef string
	expires                    time.Time
}

// NewRequests keeps requests for ttl; notify and tabs reach the operator's tabs.
func NewRequests(ttl time.Duration, notify func(operatorID, event string, data any), tabs func(operatorID string) int) *Requests {
	return &Requests{ttl: ttl, now: time.Now, notify: notify, tabs: tabs, pending: map[string]request{}}
}

// RequestCall asks the operator's tabs to dial number (already validated);
// it returns how many tabs were asked (0: operator offline, nothing asked).
func (r *Requests) RequestCall(_ context.Context, operatorID, number, crmRef string) (int, error) {
	tabs := r.tabs(operatorID)
	if tabs == 0 {
		return 0, nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	id := "r" + hex.EncodeToString(b[:])
	r.mu.Lock()
	now := r.now()
	for k, p := range r.pending { // bounded by expiry
		if now.After(p.expires) {
			delete(r.pending, k)
		}
	}
	r.pending[id] = request{operatorID: operatorID, number: number, crmRef: crmRef, expires: now.Add(r.ttl)}
	r.mu.Unlock()
	r.notify(operatorID, "call.request", map[string]string{"request_id": id, "number": number, "crm_ref": crmRef})
	return tabs, nil
}

// take claims a pending request for the operator.
func (r *Requests) take(operatorID, id string) (request, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pending[id]
	if !ok || p.operatorID != operatorID || r.now().After(p.expires) {
		return request{}, false
	}
	delete(r.pending, id)
	return p, true
}
