package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestListTasksPage(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	// t0..t4 of sales (t4 shares t3's timestamp: the id breaks the tie), s0 of support.
	for i := range 5 {
		at := t0.Add(time.Duration(min(i, 3)) * time.Second)
		if err := s.CreateTask(ctx, CallbackTask{ID: fmt.Sprintf("t%d", i), Number: "1", TargetID: "sales", Reason: "timeout", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateTask(ctx, CallbackTask{ID: "s0", Number: "2", TargetID: "support", Reason: "timeout", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"t1", "s0"} {
		if err := s.CloseTask(ctx, id, "op1", "closed", ""); err != nil {
			t.Fatal(err)
		}
	}

	var got []string
	f := TaskPageFilter{TargetID: "sales", Limit: 2}
	pages := 0
	for {
		tasks, next, err := s.ListTasksPage(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tk := range tasks {
			got = append(got, tk.ID)
		}
		if next == nil {
			break
		}
		f.After = next
	}
	if fmt.Sprint(got) != "[t0 t2 t3 t4]" || pages != 2 {
		t.Fatalf("pages=%d ids=%v; want 2 pages [t0 t2 t3 t4]", pages, got)
	}

	tests := []struct {
		name string
		f    TaskPageFilter
		want string
	}{
		{"default is open", TaskPageFilter{Limit: 10}, "[t0 t2 t3 t4]"},
		{"closed", TaskPageFilter{State: TasksClosed, Limit: 10}, "[s0 t1]"},
		{"all of a target", TaskPageFilter{State: TasksAll, TargetID: "sales", Limit: 10}, "[t0 t1 t2 t3 t4]"},
		{"unknown target", TaskPageFilter{State: TasksAll, TargetID: "nope", Limit: 10}, "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tasks, next, err := s.ListTasksPage(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, tk := range tasks {
				ids = append(ids, tk.ID)
			}
			if fmt.Sprint(ids) != tc.want || next != nil {
				t.Fatalf("ids=%v next=%v; want %s and no next page", ids, next, tc.want)
			}
		})
	}
	closed, _, _ := s.ListTasksPage(ctx, TaskPageFilter{State: TasksClosed, TargetID: "sales", Limit: 10})
	if len(closed) != 1 || closed[0].ClosedAt == nil || closed[0].ClosedBy != "op1" {
		t.Fatalf("closed task = %+v", closed)
	}
	for _, bad := range []TaskPageFilter{{Limit: 0}, {Limit: MaxTaskPage + 1}, {State: "pending", Limit: 1}} {
		if _, _, err := s.ListTasksPage(ctx, bad); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}
