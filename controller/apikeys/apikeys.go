// Package apikeys manages the keys that authenticate the CRM on the REST API.
// A key reads crmk_<id>_<secret>: the id finds the record, the secret (32
// random bytes, hex) is checked against its stored SHA-256 in constant time.
// The full key is shown once, at creation; only the hash is kept.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmphone/crmphone/controller/store"
)

// Prefix starts every key, so leaked keys are easy to recognise in scanners.
const Prefix = "crmk_"

const (
	idBytes     = 8  // 16 hex digits
	secretBytes = 32 // 64 hex digits
)

// Verification failures. Clients get one generic answer; these are for logs.
var (
	ErrMissing   = errors.New("apikeys: no key presented")
	ErrMalformed = errors.New("apikeys: malformed key")
	ErrUnknown   = errors.New("apikeys: unknown key")
	ErrRevoked   = errors.New("apikeys: key revoked")
)

// Store is the persistence the manager needs (controller/store satisfies it).
type Store interface {
	CreateAPIKey(ctx context.Context, k store.APIKey) error
	GetAPIKey(ctx context.Context, id string) (store.APIKey, error)
	ListAPIKeys(ctx context.Context) ([]store.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// Key describes a key without its secret.
type Key struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Revoked reports whether the key was revoked.
func (k Key) Revoked() bool { return k.RevokedAt != nil }

// Secret is a full key as shown once at creation. Its String and Format
// redact it so it cannot slip into a log line by accident; call Reveal to
// print it on purpose.
type Secret struct{ value string }

// Reveal returns the full key.
func (s Secret) Reveal() string { return s.value }

// String redacts the key.
func (s Secret) String() string { return "crmk_[REDACTED]" }

// GoString redacts the key in %#v.
func (s Secret) GoString() string { return s.String() }

// Manager creates, verifies, lists and revokes keys.
type Manager struct {
	store Store
	now   func() time.Time
	// touchEvery limits last_used_at writes to one per key per interval, so
	// every request does not turn into a database write.
	touchEvery time.Duration
}

// Option configures a Manager.
type Option func(*Manager)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// WithTouchInterval sets how stale last_used_at may get (default one minute; 0 writes every use).
func WithTouchInterval(d time.Duration) Option { return func(m *Manager) { m.touchEvery = d } }

// NewManager returns a manager over st.
func NewManager(st Store, opts ...Option) *Manager {
	m := &Manager{store: st, now: time.Now, touchEvery: time.Minute}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Create makes a key named name and returns it with its full value, which
// cannot be recovered later.
func (m *Manager) Create(ctx context.Context, name string) (Key, Secret, error) {
	id := make([]byte, idBytes)
	secret := make([]byte, secretBytes)
	if _, err := rand.Read(id); err != nil {
		return Key{}, Secret{}, fmt.Errorf("apikeys: random id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return Key{}, Secret{}, fmt.Errorf("apikeys: random secret: %w", err)
	}
	k := store.APIKey{ID: hex.EncodeToString(id), Name: name, CreatedAt: m.now()}
	secretHex := hex.EncodeToString(secret)
	sum := sha256.Sum256([]byte(secretHex))
	k.SecretSHA256 = sum[:]
	if err := m.store.CreateAPIKey(ctx, k); err != nil {
		return Key{}, Secret{}, fmt.Errorf("apikeys: create: %w", err)
	}
	return keyOf(k), Secret{value: Prefix + k.ID + "_" + secretHex}, nil
}

// Parse splits a key into its id and secret, checking the format only.
func Parse(key string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(key, Prefix)
	if !ok {
		return "", "", ErrMalformed
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || !isHex(id, 2*idBytes) || !isHex(secret, 2*secretBytes) {
		return "", "", ErrMalformed
	}
	return id, secret, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// unknownHash is compared against when the id is unknown, so an unknown id
// costs the same hashing and comparison as a wrong secret.
var unknownHash = make([]byte, sha256.Size)

// Verify checks a presented key and returns its record. Errors wrap
// ErrMissing, ErrMalformed, ErrUnknown or ErrRevoked, or a storage error.
func (m *Manager) Verify(ctx context.Context, key string) (Key, error) {
	if key == "" {
		return Key{}, ErrMissing
	}
	id, secret, err := Parse(key)
	if err != nil {
		return Key{}, err
	}
	rec, err := m.store.GetAPIKey(ctx, id)
	want := rec.SecretSHA256
	switch {
	case errors.Is(err, store.ErrNotFound):
		want = unknownHash
	case err != nil:
		return Key{}, fmt.Errorf("apikeys: verify: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || errors.Is(err, store.ErrNotFound) {
		return Key{}, ErrUnknown
	}
	if rec.RevokedAt != nil {
		return Key{}, ErrRevoked
	}
	now := m.now()
	if rec.LastUsedAt == nil || now.Sub(*rec.LastUsedAt) >= m.touchEvery {
		if err := m.store.TouchAPIKey(ctx, id, now); err != nil {
			return Key{}, fmt.Errorf("apikeys: verify: %w", err)
		}
		rec.LastUsedAt = &now
	}
	return keyOf(rec), nil
}

// List returns every key, revoked ones included.
func (m *Manager) List(ctx context.Context) ([]Key, error) {
	recs, err := m.store.ListAPIKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("apikeys: list: %w", err)
	}
	out := make([]Key, 0, len(recs))
	for _, r := range recs {
		out = append(out, keyOf(r))
	}
	return out, nil
}

// Revoke revokes the key id (the public part, or a full key). Errors wrap
// ErrUnknown when there is no such key.
func (m *Manager) Revoke(ctx context.Context, id string) error {
	if full, _, err := Parse(id); err == nil {
		id = full
	}
	err := m.store.RevokeAPIKey(ctx, id, m.now())
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("apikeys: revoke %q: %w", id, ErrUnknown)
	}
	if err != nil {
		return fmt.Errorf("apikeys: revoke: %w", err)
	}
	return nil
}

// Code is a short name of a verification error for logs and metrics.
func Code(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrMissing):
		return "missing"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrUnknown):
		return "unknown"
	case errors.Is(err, ErrRevoked):
		return "revoked"
	default:
		return "error"
	}
}

func keyOf(r store.APIKey) Key {
	return Key{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}
}
