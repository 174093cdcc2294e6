package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestListCallsPage(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	// 7 calls of op1 (two share a timestamp, so the id breaks the tie), 1 of op2.
	for i := range 7 {
		at := t0.Add(time.Duration(i) * time.Second)
		if i == 6 {
			at = t0.Add(5 * time.Second)
		}
		dir := "outbound"
		if i%2 == 1 {
			dir = "inbound"
		}
		if err := s.CreateCall(ctx, Call{ID: fmt.Sprintf("c%d", i), Direction: dir, OperatorID: "op1", Number: "1", State: "ended", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateCall(ctx, Call{ID: "x", Direction: "outbound", OperatorID: "op2", Number: "1", State: "ringing", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var got []string
	f := CallPageFilter{OperatorID: "op1", Limit: 3}
	pages := 0
	for {
		calls, next, err := s.ListCallsPage(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range calls {
			got = append(got, c.ID)
		}
		if next == nil {
			break
		}
		f.After = next
	}
	want := "[c6 c5 c4 c3 c2 c1 c0]"
	if fmt.Sprint(got) != want || pages != 3 {
		t.Fatalf("pages=%d ids=%v; want 3 pages %s", pages, got, want)
	}

	tests := []struct {
		name string
		f    CallPageFilter
		want string
	}{
		{"direction", CallPageFilter{Direction: "inbound", Limit: 10}, "[c5 c3 c1]"},
		{"state", CallPageFilter{State: "ringing", Limit: 10}, "[x]"},
		{"from inclusive to exclusive", CallPageFilter{From: t0.Add(time.Second), To: t0.Add(3 * time.Second), Limit: 10}, "[c2 c1]"},
		{"exact page, no next", CallPageFilter{OperatorID: "op2", Limit: 1}, "[x]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls, next, err := s.ListCallsPage(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range calls {
				ids = append(ids, c.ID)
			}
			if fmt.Sprint(ids) != tc.want || next != nil {
				t.Fatalf("ids=%v next=%v; want %s and no next page", ids, next, tc.want)
			}
		})
	}
	for _, limit := range []int{0, 201} {
		if _, _, err := s.ListCallsPage(ctx, CallPageFilter{Limit: limit}); err == nil {
			t.Fatalf("limit %d accepted", limit)
		}
	}
}
