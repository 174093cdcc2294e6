package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Operator is a CRM operator known to crmphone.
type Operator struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"display_name"`
	CRMIdentity string    `json:"crm_identity"`
	SIPIdentity string    `json:"sip_identity,omitempty"`
	Extension   string    `json:"extension,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	LastSeenAt  time.Time `json:"last_seen_at"`
}

// UpsertOperator records an operator seen at login: created the first time,
// its names and last_seen refreshed afterwards.
func (s *Store) UpsertOperator(ctx context.Context, op Operator) error {
	now := s.now().UnixMilli()
	_, err := s.db.ExecContext(ctx, `INSERT INTO operators(id, display_name, crm_identity, sip_identity, extension, created_at, last_seen_at)
		VALUES(?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET display_name=excluded.display_name, crm_identity=excluded.crm_identity,
			sip_identity=excluded.sip_identity, extension=excluded.extension, last_seen_at=excluded.last_seen_at`,
		op.ID, op.DisplayName, op.CRMIdentity, op.SIPIdentity, op.Extension, now, now)
	if err != nil {
		return fmt.Errorf("store: upsert operator %q: %w", op.ID, err)
	}
	return nil
}

// TouchOperator refreshes last_seen_at, e.g. when an operator's last tab closes.
func (s *Store) TouchOperator(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, "UPDATE operators SET last_seen_at=? WHERE id=?", s.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: touch operator %q: %w", id, err)
	}
	return nil
}

// GetOperator returns one operator or ErrNotFound.
func (s *Store) GetOperator(ctx context.Context, id string) (Operator, error) {
	row := s.db.QueryRowContext(ctx, `SELECT id, display_name, crm_identity, sip_identity, extension, created_at, last_seen_at
		FROM operators WHERE id=?`, id)
	op, err := scanOperator(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Operator{}, fmt.Errorf("store: operator %q: %w", id, ErrNotFound)
	}
	return op, err
}

// ListOperators returns every operator ordered by display name.
func (s *Store) ListOperators(ctx context.Context) ([]Operator, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, display_name, crm_identity, sip_identity, extension, created_at, last_seen_at
		FROM operators ORDER BY display_name, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list operators: %w", err)
	}
	defer rows.Close()
	var out []Operator
	for rows.Next() {
		op, err := scanOperator(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, op)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scanOperator(r scanner) (Operator, error) {
	var op Operator
	var created, seen int64
	if err := r.Scan(&op.ID, &op.DisplayName, &op.CRMIdentity, &op.SIPIdentity, &op.Extension, &created, &seen); err != nil {
		return Operator{}, err
	}
	op.CreatedAt, op.LastSeenAt = time.UnixMilli(created), time.UnixMilli(seen)
	return op, nil
}

// LoginAttempt is one row of the login audit.
type LoginAttempt struct {
	At         time.Time `json:"at"`
	OperatorID string    `json:"operator_id"`
	RemoteAddr string    `json:"remote_addr"`
	UserAgent  string    `json:"user_agent"`
	Result     string    `json:"result"`
}

// maxAuditField bounds what a client can make us store per attempt.
const maxAuditField = 256

func clip(s string) string {
	if len(s) > maxAuditField {
		return s[:maxAuditField]
	}
	return s
}

// RecordLogin appends a login attempt to the audit.
func (s *Store) RecordLogin(ctx context.Context, a LoginAttempt) error {
	at := a.At
	if at.IsZero() {
		at = s.now()
	}
	_, err := s.db.ExecContext(ctx, "INSERT INTO login_audit(at, operator_id, remote_addr, user_agent, result) VALUES(?,?,?,?,?)",
		at.UnixMilli(), clip(a.OperatorID), clip(a.RemoteAddr), clip(a.UserAgent), clip(a.Result))
	if err != nil {
		return fmt.Errorf("store: record login: %w", err)
	}
	return nil
}

// RecentLogins returns the newest audit rows first, at most limit.
func (s *Store) RecentLogins(ctx context.Context, limit int) ([]LoginAttempt, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT at, operator_id, remote_addr, user_agent, result FROM login_audit ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("store: recent logins: %w", err)
	}
	defer rows.Close()
	var out []LoginAttempt
	for rows.Next() {
		var a LoginAttempt
		var at int64
		if err := rows.Scan(&at, &a.OperatorID, &a.RemoteAddr, &a.UserAgent, &a.Result); err != nil {
			return nil, err
		}
		a.At = time.UnixMilli(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
