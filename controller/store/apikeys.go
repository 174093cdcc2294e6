package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// APIKey is a REST API key. SecretSHA256 is the hash of the key's secret part;
// the secret itself is never stored.
type APIKey struct {
	ID           string
	Name         string
	SecretSHA256 []byte
	CreatedAt    time.Time
	LastUsedAt   *time.Time
	RevokedAt    *time.Time
}

// CreateAPIKey inserts a key.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) error {
	_, err := s.db.ExecContext(ctx, "INSERT INTO api_keys(id, name, secret_sha256, created_at) VALUES(?,?,?,?)",
		k.ID, k.Name, k.SecretSHA256, k.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: create api key %q: %w", k.ID, err)
	}
	return nil
}

const apiKeyColumns = "id, name, secret_sha256, created_at, last_used_at, revoked_at"

func scanAPIKey(r scanner) (APIKey, error) {
	var k APIKey
	var created int64
	var used, revoked sql.NullInt64
	if err := r.Scan(&k.ID, &k.Name, &k.SecretSHA256, &created, &used, &revoked); err != nil {
		return APIKey{}, err
	}
	k.CreatedAt = time.UnixMilli(created)
	opt := func(v sql.NullInt64) *time.Time {
		if !v.Valid {
			return nil
		}
		t := time.UnixMilli(v.Int64)
		return &t
	}
	k.LastUsedAt, k.RevokedAt = opt(used), opt(revoked)
	return k, nil
}

// GetAPIKey returns one key or ErrNotFound.
func (s *Store) GetAPIKey(ctx context.Context, id string) (APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE id=?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, fmt.Errorf("store: api key %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: api key %q: %w", id, err)
	}
	return k, nil
}

// ListAPIKeys returns every key, revoked ones included, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey marks a key revoked; revoking twice keeps the first time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, "UPDATE api_keys SET revoked_at=COALESCE(revoked_at, ?) WHERE id=?", at.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: revoke api key %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: revoke api key %q: %w", id, ErrNotFound)
	}
	return nil
}

// TouchAPIKey sets last_used_at.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE api_keys SET last_used_at=? WHERE id=?", at.UnixMilli(), id); err != nil {
		return fmt.Errorf("store: touch api key %q: %w", id, err)
	}
	return nil
}
