package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// RoutingTarget says who is offered the inbound calls the dialplan sends to it.
type RoutingTarget struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Members          []string  `json:"members"`
	Strategy         string    `json:"strategy"`
	RingTimeoutS     int       `json:"ring_timeout_s"`
	MemberTimeoutS   int       `json:"member_timeout_s"`
	OnNoAnswer       string    `json:"on_no_answer"`
	ContinueContext  string    `json:"continue_context,omitempty"`
	ContinueExten    string    `json:"continue_exten,omitempty"`
	ContinuePriority int       `json:"continue_priority,omitempty"`
	HangupCause      string    `json:"hangup_cause,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// PutRoutingTarget creates or replaces a target.
func (s *Store) PutRoutingTarget(ctx context.Context, t RoutingTarget) error {
	members, err := json.Marshal(t.Members)
	if err != nil {
		return err
	}
	now := s.now().UnixMilli()
	_, err = s.db.ExecContext(ctx, `INSERT INTO routing_targets(id, name, members, strategy, ring_timeout_s, member_timeout_s,
		on_no_answer, continue_context, continue_exten, continue_priority, hangup_cause, created_at, updated_at)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET name=excluded.name, members=excluded.members, strategy=excluded.strategy,
			ring_timeout_s=excluded.ring_timeout_s, member_timeout_s=excluded.member_timeout_s, on_no_answer=excluded.on_no_answer,
			continue_context=excluded.continue_context, continue_exten=excluded.continue_exten,
			continue_priority=excluded.continue_priority, hangup_cause=excluded.hangup_cause, updated_at=excluded.updated_at`,
		t.ID, t.Name, string(members), t.Strategy, t.RingTimeoutS, t.MemberTimeoutS, t.OnNoAnswer, t.ContinueContext,
		t.ContinueExten, t.ContinuePriority, t.HangupCause, now, now)
	if err != nil {
		return fmt.Errorf("store: put routing target %q: %w", t.ID, err)
	}
	return nil
}

const targetColumns = `id, name, members, strategy, ring_timeout_s, member_timeout_s, on_no_answer, continue_context,
	continue_exten, continue_priority, hangup_cause, created_at, updated_at`

func scanTarget(r scanner) (RoutingTarget, error) {
	var t RoutingTarget
	var members string
	var created, updated int64
	if err := r.Scan(&t.ID, &t.Name, &members, &t.Strategy, &t.RingTimeoutS, &t.MemberTimeoutS, &t.OnNoAnswer,
		&t.ContinueContext, &t.ContinueExten, &t.ContinuePriority, &t.HangupCause, &created, &updated); err != nil {
		return RoutingTarget{}, err
	}
	if err := json.Unmarshal([]byte(members), &t.Members); err != nil {
		return RoutingTarget{}, fmt.Errorf("store: target %q members: %w", t.ID, err)
	}
	if t.Members == nil {
		t.Members = []string{} // "members": [] in JSON, never null
	}
	t.CreatedAt, t.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return t, nil
}

// GetRoutingTarget returns one target or ErrNotFound.
func (s *Store) GetRoutingTarget(ctx context.Context, id string) (RoutingTarget, error) {
	t, err := scanTarget(s.db.QueryRowContext(ctx, "SELECT "+targetColumns+" FROM routing_targets WHERE id=?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return RoutingTarget{}, fmt.Errorf("store: routing target %q: %w", id, ErrNotFound)
	}
	return t, err
}

// ListRoutingTargets returns all targets by id.
func (s *Store) ListRoutingTargets(ctx context.Context) ([]RoutingTarget, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+targetColumns+" FROM routing_targets ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list routing targets: %w", err)
	}
	defer rows.Close()
	out := []RoutingTarget{}
	for rows.Next() {
		t, err := scanTarget(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteRoutingTarget removes a target; ErrNotFound if there was none.
func (s *Store) DeleteRoutingTarget(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM routing_targets WHERE id=?", id)
	if err != nil {
		return fmt.Errorf("store: delete routing target %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: routing target %q: %w", id, ErrNotFound)
	}
	return nil
}

// CallbackTask is a call to return.
type CallbackTask struct {
	ID           string     `json:"id"`
	Number       string     `json:"number"`
	Name         string     `json:"name,omitempty"`
	TargetID     string     `json:"target"`
	CallID       string     `json:"call_id"`
	Reason       string     `json:"reason"`
	CreatedAt    time.Time  `json:"created_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	ClosedBy     string     `json:"closed_by,omitempty"`
	ClosedReason string     `json:"closed_reason,omitempty"`
	ClosedCall   string     `json:"closed_call,omitempty"`
}

// CreateTask records a callback task.
func (s *Store) CreateTask(ctx context.Context, t CallbackTask) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO callback_tasks(id, number, name, target_id, call_id, reason, created_at)
		VALUES(?,?,?,?,?,?,?)`, t.ID, t.Number, t.Name, t.TargetID, t.CallID, t.Reason, t.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: create task: %w", err)
	}
	return nil
}

const taskColumns = `id, number, name, target_id, call_id, reason, created_at, closed_at, closed_by, closed_reason, closed_call`

func scanTask(r scanner) (CallbackTask, error) {
	var t CallbackTask
	var created int64
	var closed sql.NullInt64
	if err := r.Scan(&t.ID, &t.Number, &t.Name, &t.TargetID, &t.CallID, &t.Reason, &created, &closed, &t.ClosedBy,
		&t.ClosedReason, &t.ClosedCall); err != nil {
		return CallbackTask{}, err
	}
	t.CreatedAt = time.UnixMilli(created)
	if closed.Valid {
		c := time.UnixMilli(closed.Int64)
		t.ClosedAt = &c
	}
	return t, nil
}

// OpenTasks lists open tasks of the given targets (all targets if nil), oldest first.
func (s *Store) OpenTasks(ctx context.Context, targets []string) ([]CallbackTask, error) {
	q := "SELECT " + taskColumns + " FROM callback_tasks WHERE closed_at IS NULL"
	var args []any
	if targets != nil {
		if len(targets) == 0 {
			return []CallbackTask{}, nil
		}
		q += " AND target_id IN (?" + repeat(",?", len(targets)-1) + ")"
		for _, t := range targets {
			args = append(args, t)
		}
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: open tasks: %w", err)
	}
	defer rows.Close()
	out := []CallbackTask{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

// GetTask returns one task or ErrNotFound.
func (s *Store) GetTask(ctx context.Context, id string) (CallbackTask, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, "SELECT "+taskColumns+" FROM callback_tasks WHERE id=?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return CallbackTask{}, fmt.Errorf("store: task %q: %w", id, ErrNotFound)
	}
	return t, err
}

// CloseTask closes an open task; ErrNotFound if it is not open.
func (s *Store) CloseTask(ctx context.Context, id, by, reason, callID string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE callback_tasks SET closed_at=?, closed_by=?, closed_reason=?, closed_call=?
		WHERE id=? AND closed_at IS NULL`, s.now().UnixMilli(), by, reason, callID, id)
	if err != nil {
		return fmt.Errorf("store: close task %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: open task %q: %w", id, ErrNotFound)
	}
	return nil
}

// CloseTasksForNumber closes every open task for number (a call back was
// answered) and returns them.
func (s *Store) CloseTasksForNumber(ctx context.Context, number, callID string) ([]CallbackTask, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+taskColumns+" FROM callback_tasks WHERE number=? AND closed_at IS NULL", number)
	if err != nil {
		return nil, fmt.Errorf("store: tasks for number: %w", err)
	}
	var open []CallbackTask
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		open = append(open, t)
	}
	rows.Close()
	var closed []CallbackTask
	for _, t := range open {
		if err := s.CloseTask(ctx, t.ID, "auto", "called_back", callID); err == nil {
			closed = append(closed, t)
		} else if !errors.Is(err, ErrNotFound) {
			return closed, err
		}
	}
	return closed, nil
}
