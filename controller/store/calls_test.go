package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestCallLifecycle(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	if err := s.CreateCall(ctx, Call{ID: "c1", Direction: "outbound", OperatorID: "op1", Number: "+15551234", CRMRef: "order-7", State: "dialing", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCall(ctx, Call{ID: "c1", Direction: "outbound", Number: "1", State: "dialing", CreatedAt: t0}); err == nil {
		t.Fatal("duplicate id accepted")
	}
	steps := []CallUpdate{
		{State: ptr("ringing"), RingingAt: ptr(t0.Add(time.Second)), FarChannelID: ptr("far-1"), Codec: ptr("PCMU")},
		{State: ptr("answered"), AnsweredAt: ptr(t0.Add(3 * time.Second))},
		{State: ptr("ended"), Cause: ptr("remote_hangup"), HangupBy: ptr("remote"), EndedAt: ptr(t0.Add(9 * time.Second)), MediaStats: ptr(`{"to_pbx":{"packets":300}}`)},
	}
	for _, u := range steps {
		if err := s.UpdateCall(ctx, "c1", u); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.GetCall(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.State != "ended" || c.Cause != "remote_hangup" || c.FarChannelID != "far-1" || c.Codec != "PCMU" ||
		c.AnsweredAt == nil || !c.AnsweredAt.Equal(t0.Add(3*time.Second)) || c.EndedAt == nil || c.CRMRef != "order-7" {
		t.Fatalf("call = %+v", c)
	}
	if err := s.UpdateCall(ctx, "nope", CallUpdate{State: ptr("x")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	s.CreateCall(ctx, Call{ID: "c2", Direction: "outbound", OperatorID: "op2", Number: "2", State: "dialing", CreatedAt: t0.Add(time.Minute)})
	open, err := s.ListCalls(ctx, CallFilter{OnlyOpen: true})
	if err != nil || len(open) != 1 || open[0].ID != "c2" {
		t.Fatalf("open calls = %+v, %v", open, err)
	}
	mine, _ := s.ListCalls(ctx, CallFilter{OperatorID: "op1"})
	if len(mine) != 1 || mine[0].ID != "c1" {
		t.Fatalf("op1 calls = %+v", mine)
	}
}
