package main

import (
	"context"
	"log/slog"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/controller/config"
	"github.com/crmphone/crmphone/controller/metrics"
	"github.com/crmphone/crmphone/ui/server"
)

// ariLink keeps the controller's link to Asterisk up and reports its state.
// Asterisk being away is normal: the controller serves what it can meanwhile.
type ariLink struct {
	client  *ari.Client
	metrics *metrics.Metrics
	log     *slog.Logger
	// onReconnect runs after the events websocket came back (reconcile calls).
	onReconnect func(ctx context.Context)
	// onEvent gets the other catch-all events (new inbound callers).
	onEvent func(ari.Event)
}

func newARILink(cfg config.ARI, m *metrics.Metrics, log *slog.Logger) (*ariLink, error) {
	l := &ariLink{metrics: m, log: log}
	c, err := ari.New(ari.Config{
		BaseURL: cfg.URL, Username: cfg.Username, Password: cfg.Password, Application: cfg.Application,
		RequestTimeout: cfg.RequestTimeout, Logger: log.With("component", "ari"),
		OnStateChange: l.stateChanged,
	})
	if err != nil {
		return nil, &config.Error{Key: "ari", Reason: err.Error()}
	}
	l.client = c
	return l, nil
}

func (l *ariLink) stateChanged(st ari.ConnState) {
	if st.Connected {
		l.metrics.ARIConnected.Set(1)
		l.log.Info("asterisk connected", "reconnects", st.Reconnects)
	} else {
		l.metrics.ARIConnected.Set(0)
		l.log.Warn("asterisk disconnected", "err", st.LastError)
	}
}

// Run keeps the events websocket up until ctx ends and reconciles after
// every reconnection.
func (l *ariLink) Run(ctx context.Context) {
	catchAll := l.client.SubscribeCatchAll(0)
	defer catchAll.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range catchAll.Events() {
			if _, ok := ev.(*ari.Reconnected); ok {
				l.metrics.ARIReconnects.Inc()
				if l.onReconnect != nil {
					l.onReconnect(ctx)
				}
				continue
			}
			if l.onEvent != nil {
				l.onEvent(ev)
			}
		}
	}()
	l.client.Run(ctx)
	l.client.Close()
	<-done
}

func (l *ariLink) State() server.LinkState {
	st := l.client.State()
	s := server.LinkState{Configured: true, Connected: st.Connected, LastError: st.LastError}
	if !st.Since.IsZero() {
		s.Since = st.Since
	}
	if !st.Connected && s.LastError == "" {
		s.LastError = errNeverConnected.Error()
	}
	return s
}
