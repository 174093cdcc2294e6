package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestWebhookOutboxHeadsPerOrderingKey(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	enqueue := func(key, typ string, at time.Time) int64 {
		t.Helper()
		seq, err := s.EnqueueWebhook(ctx, WebhookEvent{DeliveryID: fmt.Sprintf("d-%s-%s", key, typ), EventType: typ,
			OrderingKey: key, Body: []byte(`{"type":"` + typ + `"}`), CreatedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	a1 := enqueue("A", "call.offered", t0)
	b1 := enqueue("B", "call.offered", t0.Add(time.Millisecond))
	a2 := enqueue("A", "call.ended", t0.Add(2*time.Millisecond))
	if _, err := s.EnqueueWebhook(ctx, WebhookEvent{DeliveryID: "d-A-call.offered", EventType: "x", OrderingKey: "A", CreatedAt: t0}); err == nil {
		t.Fatal("duplicate delivery id accepted")
	}

	due, err := s.DueWebhooks(ctx, t0.Add(time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].Seq != a1 || due[1].Seq != b1 {
		t.Fatalf("due = %+v; want heads A1, B1", due)
	}
	if string(due[0].Body) != `{"type":"call.offered"}` || due[0].OrderingKey != "A" || due[0].DeliveredAt != nil {
		t.Fatalf("row not stored as given: %+v", due[0])
	}

	// A failing head holds its own key back but not the other key.
	retry := t0.Add(time.Minute)
	if err := s.MarkWebhookFailed(ctx, a1, retry, "status 503"); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueWebhooks(ctx, t0.Add(time.Second), 10)
	if len(due) != 1 || due[0].Seq != b1 {
		t.Fatalf("due after A1 failed = %+v; want only B1", due)
	}
	next, ok, err := s.NextWebhookAttempt(ctx)
	if err != nil || !ok || !next.Equal(t0.Add(time.Millisecond)) {
		t.Fatalf("next attempt = %v %v %v; want B1's", next, ok, err)
	}
	if err := s.MarkWebhookDelivered(ctx, b1, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	next, ok, _ = s.NextWebhookAttempt(ctx)
	if !ok || !next.Equal(retry) {
		t.Fatalf("next attempt = %v %v; want A1's retry %v (A2 is behind A1)", next, ok, retry)
	}

	// The state survives reopening the file.
	s.Close()
	s2, err := Open(ctx, path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	ev, err := s2.GetWebhook(ctx, a1)
	if err != nil || ev.Attempts != 1 || ev.LastError != "status 503" || !ev.NextAttemptAt.Equal(retry) {
		t.Fatalf("A1 after reopen = %+v, %v", ev, err)
	}
	due, _ = s2.DueWebhooks(ctx, retry, 10)
	if len(due) != 1 || due[0].Seq != a1 {
		t.Fatalf("due at retry = %+v; want A1", due)
	}
	if err := s2.MarkWebhookDelivered(ctx, a1, retry); err != nil {
		t.Fatal(err)
	}
	due, _ = s2.DueWebhooks(ctx, retry, 10)
	if len(due) != 1 || due[0].Seq != a2 {
		t.Fatalf("due after A1 delivered = %+v; want A2", due)
	}
	if n, _ := s2.PendingWebhooks(ctx); n != 1 {
		t.Fatalf("pending = %d; want 1", n)
	}
	pruned, err := s2.PruneDeliveredWebhooks(ctx, retry.Add(time.Millisecond))
	if err != nil || pruned != 2 {
		t.Fatalf("pruned = %d, %v; want 2 delivered rows", pruned, err)
	}
	if _, err := s2.GetWebhook(ctx, b1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned row still there: %v", err)
	}
	if err := s2.MarkWebhookDelivered(ctx, 999, retry); !errors.Is(err, ErrNotFound) {
		t.Fatalf("marking unknown row: %v", err)
	}
}
