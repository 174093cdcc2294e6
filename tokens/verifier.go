package tokens

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// DefaultClockSkew is how far the CRM's clock may be off ours.
	DefaultClockSkew = 30 * time.Second
	// MaxTokenLength bounds the work a hostile token can cause; longer tokens are malformed.
	MaxTokenLength = 8192
)

// ReplayStore remembers token ids so each token logs in once. MarkUsed records
// tokenID until the given time and reports whether this was its first use.
// The Verifier passes "<prefix>:<jti>" (legacy: "<prefix>:legacy-<hash>").
// Implementations must be safe for concurrent use and atomic across all
// controllers that share them (see MemoryReplayStore and package redisreplay).
type ReplayStore interface {
	MarkUsed(ctx context.Context, tokenID string, until time.Time) (firstUse bool, err error)
}

// Verifier checks login tokens against a Keyring. Safe for concurrent use.
type Verifier struct {
	keys   *Keyring
	replay ReplayStore
	skew   time.Duration
	now    func() time.Time
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithClockSkew sets the tolerated clock difference (default DefaultClockSkew).
func WithClockSkew(d time.Duration) Option { return func(v *Verifier) { v.skew = d } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// NewVerifier builds a Verifier. Both keys and replay are required.
func NewVerifier(keys *Keyring, replay ReplayStore, opts ...Option) (*Verifier, error) {
	v := &Verifier{keys: keys, replay: replay, skew: DefaultClockSkew, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	switch {
	case keys == nil:
		return nil, errors.New("tokens: NewVerifier needs a keyring")
	case replay == nil:
		return nil, errors.New("tokens: NewVerifier needs a replay store")
	case v.now == nil:
		return nil, errors.New("tokens: WithClock(nil)")
	case v.skew < 0:
		return nil, errors.New("tokens: negative clock skew")
	}
	return v, nil
}

// Verify checks token and, if it is valid, marks it used and returns its
// claims. A refused token yields an error wrapping one of ErrMalformed,
// ErrUnknownKey, ErrBadToken, ErrExpired or ErrReplayed (see Code); a failing
// replay store yields an error wrapping none of them ("internal"). Error texts
// never contain the token, a key or a SIP password.
//
// Accepted shapes: "<prefix>.<kid>:<base64url>" (v2) and, for prefixes
// configured as legacy only, "<prefix>:<hex>".
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > MaxTokenLength {
		return nil, reject(ErrMalformed, "token is %d bytes, longer than %d", len(token), MaxTokenLength)
	}
	colon := strings.IndexByte(token, ':')
	if colon < 0 {
		return nil, reject(ErrMalformed, "no ':' after the key prefix (%d bytes)", len(token))
	}
	header, body := token[:colon], token[colon+1:]
	if len(header) > 2*maxNameLen+1 {
		return nil, reject(ErrMalformed, "key prefix longer than %d bytes", 2*maxNameLen+1)
	}
	prefix, kid, isV2 := strings.Cut(header, ".")
	if !validName(prefix) || isV2 && !validName(kid) {
		return nil, reject(ErrMalformed, "key prefix must be <prefix>.<id> or <prefix> of A-Z a-z 0-9 _ -")
	}
	// header is now known to be short and of a safe alphabet, so it may be logged.
	var (
		c   *Claims
		err error
	)
	if isV2 {
		key := v.keys.v2[header]
		if key == nil {
			return nil, reject(ErrUnknownKey, "no v2 key %q", header)
		}
		c, err = openV2(key, token[:colon+1], body)
	} else {
		key := v.keys.legacy[prefix]
		if key == nil {
			if v.keys.hasV2Prefix(prefix) {
				return nil, reject(ErrUnknownKey, "prefix %q is not configured for legacy tokens (v2 tokens start with %q)", prefix, prefix+".<id>:")
			}
			return nil, reject(ErrUnknownKey, "no key for prefix %q", prefix)
		}
		c, err = openLegacy(key, body)
	}
	if err != nil {
		return nil, err
	}

	now := v.now()
	if now.After(c.ExpiresAt.Add(v.skew)) {
		return nil, reject(ErrExpired, "token %s of %q expired at %s (now %s, skew %s)", c.TokenID, c.OperatorID,
			c.ExpiresAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.skew)
	}
	if !c.IssuedAt.IsZero() && c.IssuedAt.After(now.Add(v.skew)) {
		return nil, reject(ErrBadToken, "token %s of %q issued in the future at %s (now %s, skew %s)", c.TokenID, c.OperatorID,
			c.IssuedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.skew)
	}
	// Remember the id for as long as the token could still pass the expiry
	// check. Ids are namespaced by prefix: two CRMs may both count jti from 1.
	first, err := v.replay.MarkUsed(ctx, prefix+":"+c.TokenID, c.ExpiresAt.Add(v.skew))
	if err != nil {
		return nil, fmt.Errorf("tokens: replay store: %w", err)
	}
	if !first {
		return nil, reject(ErrReplayed, "token %s of %q was already used", c.TokenID, c.OperatorID)
	}
	return c, nil
}

func (kr *Keyring) hasV2Prefix(prefix string) bool {
	for _, k := range kr.v2 {
		if k.Prefix == prefix {
			return true
		}
	}
	return false
}
