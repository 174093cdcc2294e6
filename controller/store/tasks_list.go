package store

import (
	"context"
	"fmt"
	"time"
)

// Task states for TaskPageFilter.State.
const (
	TasksOpen   = "open"
	TasksClosed = "closed"
	TasksAll    = "all"
)

// MaxTaskPage is the largest page ListTasksPage returns.
const MaxTaskPage = 200

// TaskCursor is the position after the last task of a page: tasks are listed
// oldest first by (created_at, id), so the next page starts strictly above it.
type TaskCursor struct {
	CreatedAt time.Time
	ID        string
}

// TaskPageFilter selects callback tasks for ListTasksPage.
type TaskPageFilter struct {
	TargetID string      // empty: every target
	State    string      // TasksOpen, TasksClosed or TasksAll; empty means TasksOpen
	After    *TaskCursor // nil: first page
	Limit    int         // 1..MaxTaskPage
}

// ListTasksPage returns one page of callback tasks, oldest first (a work
// queue), with keyset paging: next is nil on the last page.
func (s *Store) ListTasksPage(ctx context.Context, f TaskPageFilter) (tasks []CallbackTask, next *TaskCursor, err error) {
	if f.Limit < 1 || f.Limit > MaxTaskPage {
		return nil, nil, fmt.Errorf("store: list tasks: limit %d outside 1..%d", f.Limit, MaxTaskPage)
	}
	q := "SELECT " + taskColumns + " FROM callback_tasks WHERE 1=1"
	var args []any
	switch f.State {
	case "", TasksOpen:
		q += " AND closed_at IS NULL"
	case TasksClosed:
		q += " AND closed_at IS NOT NULL"
	case TasksAll:
	default:
		return nil, nil, fmt.Errorf("store: list tasks: unknown state %q", f.State)
	}
	if f.TargetID != "" {
		q, args = q+" AND target_id=?", append(args, f.TargetID)
	}
	if f.After != nil {
		ms := f.After.CreatedAt.UnixMilli()
		q, args = q+" AND (created_at > ? OR (created_at = ? AND id > ?))", append(args, ms, ms, f.After.ID)
	}
	// One row more than asked tells whether another page follows.
	q, args = q+" ORDER BY created_at, id LIMIT ?", append(args, f.Limit+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: list tasks: %w", err)
	}
	defer rows.Close()
	tasks = []CallbackTask{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("store: list tasks: %w", err)
		}
		tasks = append(tasks, t)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: list tasks: %w", err)
	}
	if len(tasks) > f.Limit {
		tasks = tasks[:f.Limit]
		last := tasks[len(tasks)-1]
		next = &TaskCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return tasks, next, nil
}
