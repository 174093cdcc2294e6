package main

import (
	"sync"
	"time"

	"github.com/crmphone/crmphone/ui/server"
)

// linkState remembers whether a link is up, since when, and its last error.
type linkState struct {
	mu sync.Mutex
	s  server.LinkState
}

// set records the outcome of a check and reports whether up/down changed.
func (l *linkState) set(err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	up := err == nil
	changed := up != l.s.Connected || l.s.Since.IsZero()
	if changed {
		l.s.Since = time.Now()
	}
	l.s.Configured, l.s.Connected = true, up
	if err != nil {
		l.s.LastError = err.Error()
	}
	return changed
}

func (l *linkState) get() server.LinkState {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.s
	s.Configured = true
	if s.Since.IsZero() {
		s.LastError = errNeverConnected.Error()
	}
	return s
}
