// Package webhooks tells the CRM about call events. Events are written to a
// durable outbox in SQLite first (Outbox.Enqueue) and POSTed from there by a
// Deliverer, signed with HMAC-SHA256, retried with exponential backoff until
// the CRM answers 2xx: every event is delivered at least once, events of one
// call in order, and nothing pending is lost on restart. README.md documents
// the request format and shows how the CRM verifies it.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crmphone/crmphone/controller/store"
)

// Store is the outbox persistence (controller/store satisfies it).
type Store interface {
	EnqueueWebhook(ctx context.Context, ev store.WebhookEvent) (int64, error)
	DueWebhooks(ctx context.Context, now time.Time, limit int) ([]store.WebhookEvent, error)
	NextWebhookAttempt(ctx context.Context) (time.Time, bool, error)
	MarkWebhookDelivered(ctx context.Context, seq int64, at time.Time) error
	MarkWebhookFailed(ctx context.Context, seq int64, nextAttempt time.Time, lastError string) error
	PendingWebhooks(ctx context.Context) (int, error)
	PruneDeliveredWebhooks(ctx context.Context, before time.Time) (int64, error)
}

// ErrInvalidEvent is returned for events without a type or key.
var ErrInvalidEvent = errors.New("webhooks: event needs a type and a key")

// Outbox persists events for delivery. A nil *Outbox (webhooks not
// configured) accepts and drops events, so callers need no checks.
type Outbox struct {
	store Store
	now   func() time.Time
	wake  chan struct{} // tells the Deliverer there is something new
}

// NewOutbox returns an outbox over st.
func NewOutbox(st Store) *Outbox {
	return &Outbox{store: st, now: time.Now, wake: make(chan struct{}, 1)}
}

// Enqueue stores ev and returns its delivery id. Once it returns nil the
// event will be delivered, whatever happens to the process.
func (o *Outbox) Enqueue(ctx context.Context, ev Event) (string, error) {
	if o == nil {
		return "", nil
	}
	if ev.Type == "" || ev.Key == "" {
		return "", ErrInvalidEvent
	}
	if ev.At.IsZero() {
		ev.At = o.now()
	}
	id, err := newDeliveryID()
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(Envelope{ID: id, Type: ev.Type, CreatedAt: ev.At.UTC(), Data: ev.Data})
	if err != nil {
		return "", fmt.Errorf("webhooks: encode %s: %w", ev.Type, err)
	}
	if _, err := o.store.EnqueueWebhook(ctx, store.WebhookEvent{
		DeliveryID: id, EventType: ev.Type, OrderingKey: ev.Key, Body: body, CreatedAt: o.now(),
	}); err != nil {
		return "", fmt.Errorf("webhooks: enqueue: %w", err)
	}
	select {
	case o.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return id, nil
}

func newDeliveryID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhooks: delivery id: %w", err)
	}
	return "dlv_" + hex.EncodeToString(b), nil
}
