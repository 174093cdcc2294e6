package store

import (
	"context"
	"fmt"
	"time"
)

// CallCursor is the position after the last call of a page: calls are listed
// newest first by (created_at, id), so the next page starts strictly below it.
type CallCursor struct {
	CreatedAt time.Time
	ID        string
}

// CallPageFilter selects calls for ListCallsPage. Empty fields do not filter.
type CallPageFilter struct {
	OperatorID string
	Direction  string
	State      string
	Cause      string
	From       time.Time   // created at or after; zero: unbounded
	To         time.Time   // created before; zero: unbounded
	After      *CallCursor // nil: first page
	Limit      int         // 1..MaxCallPage
}

// MaxCallPage is the largest page ListCallsPage returns.
const MaxCallPage = 200

// ListCallsPage returns one page of calls, newest first, with keyset paging:
// next is nil on the last page. Rows inserted while paging never shift pages.
func (s *Store) ListCallsPage(ctx context.Context, f CallPageFilter) (calls []Call, next *CallCursor, err error) {
	if f.Limit < 1 || f.Limit > MaxCallPage {
		return nil, nil, fmt.Errorf("store: list calls: limit %d outside 1..%d", f.Limit, MaxCallPage)
	}
	q := "SELECT " + callColumns + " FROM calls WHERE 1=1"
	var args []any
	eq := func(col, v string) {
		if v != "" {
			q, args = q+" AND "+col+"=?", append(args, v)
		}
	}
	eq("operator_id", f.OperatorID)
	eq("direction", f.Direction)
	eq("state", f.State)
	eq("cause", f.Cause)
	if !f.From.IsZero() {
		q, args = q+" AND created_at >= ?", append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		q, args = q+" AND created_at < ?", append(args, f.To.UnixMilli())
	}
	if f.After != nil {
		ms := f.After.CreatedAt.UnixMilli()
		q, args = q+" AND (created_at < ? OR (created_at = ? AND id < ?))", append(args, ms, ms, f.After.ID)
	}
	// One row more than asked tells whether another page follows.
	q, args = q+" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, f.Limit+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: list calls: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("store: list calls: %w", err)
		}
		calls = append(calls, c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: list calls: %w", err)
	}
	if len(calls) > f.Limit {
		calls = calls[:f.Limit]
		last := calls[len(calls)-1]
		next = &CallCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return calls, next, nil
}
