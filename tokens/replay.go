package tokens

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultReplayEntries is the MemoryReplayStore capacity used for maxEntries <= 0.
const DefaultReplayEntries = 100_000

// ErrReplayStoreFull is returned by MemoryReplayStore when it holds maxEntries
// unexpired ids. It fails closed (the login is refused as "internal") rather
// than forgetting an id, which would let that token be replayed.
var ErrReplayStoreFull = errors.New("replay store full")

// MemoryReplayStore is a ReplayStore for a single controller process. It holds
// at most maxEntries ids; ids whose time has passed are dropped on every call.
type MemoryReplayStore struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	until map[string]time.Time
	queue expiryQueue // same ids as until, soonest first
}

// NewMemoryReplayStore makes a store holding at most maxEntries ids
// (DefaultReplayEntries if <= 0). now is the clock (time.Now if nil).
func NewMemoryReplayStore(maxEntries int, now func() time.Time) *MemoryReplayStore {
	if maxEntries <= 0 {
		maxEntries = DefaultReplayEntries
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryReplayStore{max: maxEntries, now: now, until: map[string]time.Time{}}
}

// MarkUsed implements ReplayStore.
func (s *MemoryReplayStore) MarkUsed(ctx context.Context, tokenID string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.prune(now)
	if _, seen := s.until[tokenID]; seen {
		return false, nil
	}
	if !until.After(now) {
		return true, nil // nothing to remember: the token can no longer pass the expiry check
	}
	if len(s.until) >= s.max {
		return false, ErrReplayStoreFull
	}
	s.until[tokenID] = until
	heap.Push(&s.queue, expiryEntry{id: tokenID, until: until})
	return true, nil
}

// Len is the number of ids remembered (expired ones included until the next MarkUsed).
func (s *MemoryReplayStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.until)
}

func (s *MemoryReplayStore) prune(now time.Time) {
	for len(s.queue) > 0 && !s.queue[0].until.After(now) {
		e := heap.Pop(&s.queue).(expiryEntry)
		delete(s.until, e.id)
	}
}

type expiryEntry struct {
	id    string
	until time.Time
}

// expiryQueue is a min-heap by until (container/heap).
type expiryQueue []expiryEntry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].until.Before(q[j].until) }
func (q expiryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryQueue) Push(x any)        { *q = append(*q, x.(expiryEntry)) }
func (q *expiryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = expiryEntry{}
	*q = old[:len(old)-1]
	return e
}
