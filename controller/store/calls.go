package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Call is the record of one call.
type Call struct {
	ID             string     `json:"id"`
	Direction      string     `json:"direction"`
	OperatorID     string     `json:"operator_id"`
	SessionID      string     `json:"session_id,omitempty"`
	Number         string     `json:"number"`
	CRMRef         string     `json:"crm_ref,omitempty"`
	State          string     `json:"state"`
	Cause          string     `json:"cause,omitempty"`
	HangupBy       string     `json:"hangup_by,omitempty"`
	Codec          string     `json:"codec,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	RingingAt      *time.Time `json:"ringing_at,omitempty"`
	AnsweredAt     *time.Time `json:"answered_at,omitempty"`
	EndedAt        *time.Time `json:"ended_at,omitempty"`
	FarChannelID   string     `json:"far_channel_id,omitempty"`
	MediaChannelID string     `json:"media_channel_id,omitempty"`
	BridgeID       string     `json:"bridge_id,omitempty"`
	MediaStats     string     `json:"media_stats,omitempty"` // JSON
	TargetID       string     `json:"target_id,omitempty"`
	CallerName     string     `json:"caller_name,omitempty"`
	MissedReason   string     `json:"missed_reason,omitempty"`
}

// CallUpdate changes a call record; nil fields stay as they are.
type CallUpdate struct {
	OperatorID     *string
	SessionID      *string
	State          *string
	Cause          *string
	HangupBy       *string
	Codec          *string
	RingingAt      *time.Time
	AnsweredAt     *time.Time
	EndedAt        *time.Time
	FarChannelID   *string
	MediaChannelID *string
	BridgeID       *string
	MediaStats     *string
	MissedReason   *string
}

// CreateCall inserts a new call record.
func (s *Store) CreateCall(ctx context.Context, c Call) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO calls(id, direction, operator_id, session_id, number, crm_ref, state, codec, created_at,
		far_channel_id, media_channel_id, bridge_id, target_id, caller_name) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.Direction, c.OperatorID, c.SessionID, c.Number, c.CRMRef, c.State, c.Codec, c.CreatedAt.UnixMilli(),
		c.FarChannelID, c.MediaChannelID, c.BridgeID, c.TargetID, c.CallerName)
	if err != nil {
		return fmt.Errorf("store: create call %q: %w", c.ID, err)
	}
	return nil
}

// UpdateCall applies u to the call id.
func (s *Store) UpdateCall(ctx context.Context, id string, u CallUpdate) error {
	var sets []string
	var args []any
	str := func(col string, v *string) {
		if v != nil {
			sets, args = append(sets, col+"=?"), append(args, *v)
		}
	}
	tm := func(col string, v *time.Time) {
		if v != nil {
			sets, args = append(sets, col+"=?"), append(args, v.UnixMilli())
		}
	}
	str("operator_id", u.OperatorID)
	str("session_id", u.SessionID)
	str("state", u.State)
	str("cause", u.Cause)
	str("hangup_by", u.HangupBy)
	str("codec", u.Codec)
	tm("ringing_at", u.RingingAt)
	tm("answered_at", u.AnsweredAt)
	tm("ended_at", u.EndedAt)
	str("far_channel_id", u.FarChannelID)
	str("media_channel_id", u.MediaChannelID)
	str("bridge_id", u.BridgeID)
	str("media_stats", u.MediaStats)
	str("missed_reason", u.MissedReason)
	if len(sets) == 0 {
		return nil
	}
	args = append(args, id)
	res, err := s.db.ExecContext(ctx, "UPDATE calls SET "+strings.Join(sets, ", ")+" WHERE id=?", args...)
	if err != nil {
		return fmt.Errorf("store: update call %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: update call %q: %w", id, ErrNotFound)
	}
	return nil
}

const callColumns = `id, direction, operator_id, session_id, number, crm_ref, state, cause, hangup_by, codec, created_at,
	ringing_at, answered_at, ended_at, far_channel_id, media_channel_id, bridge_id, media_stats, target_id, caller_name, missed_reason`

func scanCall(r scanner) (Call, error) {
	var c Call
	var created int64
	var ringing, answered, ended sql.NullInt64
	if err := r.Scan(&c.ID, &c.Direction, &c.OperatorID, &c.SessionID, &c.Number, &c.CRMRef, &c.State, &c.Cause, &c.HangupBy,
		&c.Codec, &created, &ringing, &answered, &ended, &c.FarChannelID, &c.MediaChannelID, &c.BridgeID, &c.MediaStats,
		&c.TargetID, &c.CallerName, &c.MissedReason); err != nil {
		return Call{}, err
	}
	c.CreatedAt = time.UnixMilli(created)
	opt := func(v sql.NullInt64) *time.Time {
		if !v.Valid {
			return nil
		}
		t := time.UnixMilli(v.Int64)
		return &t
	}
	c.RingingAt, c.AnsweredAt, c.EndedAt = opt(ringing), opt(answered), opt(ended)
	return c, nil
}

// GetCall returns one call or ErrNotFound.
func (s *Store) GetCall(ctx context.Context, id string) (Call, error) {
	c, err := scanCall(s.db.QueryRowContext(ctx, "SELECT "+callColumns+" FROM calls WHERE id=?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Call{}, fmt.Errorf("store: call %q: %w", id, ErrNotFound)
	}
	return c, err
}

// CallFilter selects calls for ListCalls.
type CallFilter struct {
	OperatorID string
	Direction  string
	OnlyOpen   bool // not ended yet
	Limit      int  // default 50, at most 500
}

// ListCalls returns calls newest first.
func (s *Store) ListCalls(ctx context.Context, f CallFilter) ([]Call, error) {
	q := "SELECT " + callColumns + " FROM calls WHERE 1=1"
	var args []any
	if f.OperatorID != "" {
		q, args = q+" AND operator_id=?", append(args, f.OperatorID)
	}
	if f.Direction != "" {
		q, args = q+" AND direction=?", append(args, f.Direction)
	}
	if f.OnlyOpen {
		q += " AND ended_at IS NULL"
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q, args = q+" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list calls: %w", err)
	}
	defer rows.Close()
	var out []Call
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
