// Package redisreplay is a tokens.ReplayStore in Redis, so that several
// controllers sharing one Redis accept each login token once between them.
package redisreplay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultKeyPrefix namespaces the replay keys in a shared Redis.
const DefaultKeyPrefix = "crmphone:token-used:"

// minTTL keeps a key for a moment even when until is (almost) reached, so two
// controllers racing on the same token near its expiry still see each other.
const minTTL = time.Second

// SetNXer is the part of a go-redis client the store needs; *redis.Client,
// *redis.ClusterClient and *redis.Ring all have it.
type SetNXer interface {
	SetNX(ctx context.Context, key string, value any, expiration time.Duration) *redis.BoolCmd
}

// Store remembers used token ids as Redis keys set with SET NX and an expiry.
type Store struct {
	client SetNXer
	prefix string
	now    func() time.Time
}

// New makes a Store. keyPrefix "" means DefaultKeyPrefix; now nil means time.Now.
func New(client SetNXer, keyPrefix string, now func() time.Time) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisreplay: nil client")
	}
	if keyPrefix == "" {
		keyPrefix = DefaultKeyPrefix
	}
	if now == nil {
		now = time.Now
	}
	return &Store{client: client, prefix: keyPrefix, now: now}, nil
}

// MarkUsed implements tokens.ReplayStore: SET <prefix><tokenID> 1 PX <until-now> NX.
// Redis executes it atomically, so exactly one caller sees firstUse.
func (s *Store) MarkUsed(ctx context.Context, tokenID string, until time.Time) (bool, error) {
	ttl := until.Sub(s.now())
	if ttl < minTTL {
		ttl = minTTL
	}
	// Whole milliseconds: go-redis sends PX for sub-second precision.
	ttl = ttl.Truncate(time.Millisecond)
	first, err := s.client.SetNX(ctx, s.prefix+tokenID, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redisreplay: SET NX: %w", err)
	}
	return first, nil
}
