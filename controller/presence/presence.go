// Package presence tracks which operators are online and on how many
// softphone sessions (browser tabs). The in-process Registry serves a single
// controller; a shared implementation (Redis) satisfies the same interface
// for several controllers.
package presence

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Entry is one online operator.
type Entry struct {
	OperatorID  string    `json:"operator_id"`
	DisplayName string    `json:"display_name"`
	Sessions    int       `json:"sessions"`
	Since       time.Time `json:"since"`
}

// Memory is the in-process presence registry.
type Memory struct {
	mu        sync.Mutex
	operators map[string]*memEntry
	now       func() time.Time
}

type memEntry struct {
	Entry
	sessions map[string]struct{}
}

// NewMemory returns an empty registry.
func NewMemory() *Memory {
	return &Memory{operators: map[string]*memEntry{}, now: time.Now}
}

// Join marks session sessionID of the operator online and returns how many
// sessions the operator now has.
func (m *Memory) Join(_ context.Context, operatorID, displayName, sessionID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.operators[operatorID]
	if e == nil {
		e = &memEntry{Entry: Entry{OperatorID: operatorID, Since: m.now()}, sessions: map[string]struct{}{}}
		m.operators[operatorID] = e
	}
	e.DisplayName = displayName
	e.sessions[sessionID] = struct{}{}
	e.Sessions = len(e.sessions)
	return e.Sessions, nil
}

// Leave removes one session; the operator goes offline with its last one.
// It returns the sessions left.
func (m *Memory) Leave(_ context.Context, operatorID, sessionID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.operators[operatorID]
	if e == nil {
		return 0, nil
	}
	delete(e.sessions, sessionID)
	e.Sessions = len(e.sessions)
	if e.Sessions == 0 {
		delete(m.operators, operatorID)
	}
	return e.Sessions, nil
}

// Online lists online operators ordered by id.
func (m *Memory) Online(_ context.Context) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Entry, 0, len(m.operators))
	for _, e := range m.operators {
		out = append(out, e.Entry)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OperatorID < out[j].OperatorID })
	return out, nil
}

// Get returns one operator's presence; ok is false when offline.
func (m *Memory) Get(_ context.Context, operatorID string) (Entry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.operators[operatorID]
	if e == nil {
		return Entry{}, false, nil
	}
	return e.Entry, true, nil
}
