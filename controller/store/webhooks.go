package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// WebhookEvent is one row of the webhook outbox.
type WebhookEvent struct {
	Seq           int64 // enqueue order, assigned by EnqueueWebhook
	DeliveryID    string
	EventType     string
	OrderingKey   string
	Body          []byte
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	DeliveredAt   *time.Time
}

// EnqueueWebhook persists an event, due immediately, and returns its sequence number.
func (s *Store) EnqueueWebhook(ctx context.Context, ev WebhookEvent) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO webhook_outbox(delivery_id, event_type, ordering_key, body, created_at, next_attempt_at)
		VALUES(?,?,?,?,?,?)`, ev.DeliveryID, ev.EventType, ev.OrderingKey, string(ev.Body), ev.CreatedAt.UnixMilli(), ev.CreatedAt.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: enqueue webhook %s: %w", ev.EventType, err)
	}
	return res.LastInsertId()
}

const webhookColumns = `seq, delivery_id, event_type, ordering_key, body, created_at, attempts, next_attempt_at, last_error, delivered_at`

func scanWebhook(r scanner) (WebhookEvent, error) {
	var ev WebhookEvent
	var body string
	var created, next int64
	var delivered sql.NullInt64
	if err := r.Scan(&ev.Seq, &ev.DeliveryID, &ev.EventType, &ev.OrderingKey, &body, &created, &ev.Attempts, &next,
		&ev.LastError, &delivered); err != nil {
		return WebhookEvent{}, err
	}
	ev.Body = []byte(body)
	ev.CreatedAt, ev.NextAttemptAt = time.UnixMilli(created), time.UnixMilli(next)
	if delivered.Valid {
		t := time.UnixMilli(delivered.Int64)
		ev.DeliveredAt = &t
	}
	return ev, nil
}

// pendingHeads selects, for every ordering key, its oldest undelivered event:
// only that one may be sent, so events of one call arrive in order.
const pendingHeads = `SELECT MIN(seq) FROM webhook_outbox WHERE delivered_at IS NULL GROUP BY ordering_key`

// DueWebhooks returns up to limit events that may be sent at now: the oldest
// undelivered event of each ordering key whose next attempt is due, oldest
// first. Every returned event has a different ordering key.
func (s *Store) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]WebhookEvent, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+webhookColumns+" FROM webhook_outbox WHERE seq IN ("+pendingHeads+
		") AND next_attempt_at <= ? ORDER BY next_attempt_at, seq LIMIT ?", now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due webhooks: %w", err)
	}
	defer rows.Close()
	var out []WebhookEvent
	for rows.Next() {
		ev, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("store: due webhooks: %w", err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// NextWebhookAttempt returns when the earliest sendable event is due; ok is
// false when nothing is pending.
func (s *Store) NextWebhookAttempt(ctx context.Context) (at time.Time, ok bool, err error) {
	var next sql.NullInt64
	err = s.db.QueryRowContext(ctx, "SELECT MIN(next_attempt_at) FROM webhook_outbox WHERE seq IN ("+pendingHeads+")").Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: next webhook attempt: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(next.Int64), true, nil
}

// MarkWebhookDelivered records a successful delivery.
func (s *Store) MarkWebhookDelivered(ctx context.Context, seq int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, "UPDATE webhook_outbox SET delivered_at=?, attempts=attempts+1, last_error='' WHERE seq=?",
		at.UnixMilli(), seq)
	if err != nil {
		return fmt.Errorf("store: mark webhook %d delivered: %w", seq, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: mark webhook %d delivered: %w", seq, ErrNotFound)
	}
	return nil
}

// MarkWebhookFailed records a failed attempt and when to try again.
// lastError must not contain secrets.
func (s *Store) MarkWebhookFailed(ctx context.Context, seq int64, nextAttempt time.Time, lastError string) error {
	res, err := s.db.ExecContext(ctx, "UPDATE webhook_outbox SET attempts=attempts+1, next_attempt_at=?, last_error=? WHERE seq=?",
		nextAttempt.UnixMilli(), lastError, seq)
	if err != nil {
		return fmt.Errorf("store: mark webhook %d failed: %w", seq, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: mark webhook %d failed: %w", seq, ErrNotFound)
	}
	return nil
}

// GetWebhook returns one outbox row by sequence number, or ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, seq int64) (WebhookEvent, error) {
	ev, err := scanWebhook(s.db.QueryRowContext(ctx, "SELECT "+webhookColumns+" FROM webhook_outbox WHERE seq=?", seq))
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookEvent{}, fmt.Errorf("store: webhook %d: %w", seq, ErrNotFound)
	}
	return ev, err
}

// PendingWebhooks counts undelivered events.
func (s *Store) PendingWebhooks(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NULL").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pending webhooks: %w", err)
	}
	return n, nil
}

// PruneDeliveredWebhooks deletes events delivered before the given time and
// returns how many went.
func (s *Store) PruneDeliveredWebhooks(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM webhook_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?", before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: prune webhooks: %w", err)
	}
	return res.RowsAffected()
}
