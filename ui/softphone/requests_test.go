package softphone

import (
	"context"
	"testing"
	"time"
)

func TestRequestsTakenOnceByTheirOperator(t *testing.T) {
	var sent []map[string]string
	tabs := map[string]int{"ann": 2}
	r := NewRequests(time.Minute, func(op, event string, data any) {
		if event == "call.request" {
			sent = append(sent, data.(map[string]string))
		}
	}, func(op string) int { return tabs[op] })
	clock := time.Unix(1000, 0)
	r.now = func() time.Time { return clock }

	if n, err := r.RequestCall(context.Background(), "bob", "5551", ""); n != 0 || err != nil || len(sent) != 0 {
		t.Fatalf("offline operator: %d %v, %d events", n, err, len(sent))
	}
	n, err := r.RequestCall(context.Background(), "ann", "5551", "order-1")
	if err != nil || n != 2 || len(sent) != 1 || sent[0]["number"] != "5551" || sent[0]["crm_ref"] != "order-1" {
		t.Fatalf("request: %d %v %v", n, err, sent)
	}
	id := sent[0]["request_id"]
	if _, ok := r.take("bob", id); ok {
		t.Fatal("another operator took ann's request")
	}
	req, ok := r.take("ann", id)
	if !ok || req.number != "5551" || req.crmRef != "order-1" {
		t.Fatalf("take: %+v %v", req, ok)
	}
	if _, ok := r.take("ann", id); ok {
		t.Fatal("a request was taken twice")
	}
	r.RequestCall(context.Background(), "ann", "5552", "")
	clock = clock.Add(2 * time.Minute)
	if _, ok := r.take("ann", sent[1]["request_id"]); ok {
		t.Fatal("an expired request was taken")
	}
	r.RequestCall(context.Background(), "ann", "5553", "") // prunes the expired one
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) != 1 {
		t.Fatalf("pending = %d, want 1", len(r.pending))
	}
}
