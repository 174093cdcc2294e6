package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmphone/crmphone/controller"
	"github.com/crmphone/crmphone/controller/agents"
	"github.com/crmphone/crmphone/controller/apikeys"
	"github.com/crmphone/crmphone/controller/calls"
	"github.com/crmphone/crmphone/controller/config"
	"github.com/crmphone/crmphone/controller/crmlookup"
	"github.com/crmphone/crmphone/controller/inbound"
	"github.com/crmphone/crmphone/controller/logging"
	"github.com/crmphone/crmphone/controller/metrics"
	"github.com/crmphone/crmphone/controller/store"
	"github.com/crmphone/crmphone/controller/webhooks"
	"github.com/crmphone/crmphone/ui/api"
	"github.com/crmphone/crmphone/ui/server"
	"github.com/crmphone/crmphone/ui/signaling"
	"github.com/crmphone/crmphone/ui/softphone"
	"github.com/crmphone/crmphone/webrtc"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer, environ []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, environ)
	if err != nil {
		return err
	}
	log, err := logging.New(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.run(ctx)
}

// app is a running controller: everything serve wires together.
type app struct {
	cfg       config.Config
	log       *slog.Logger
	store     *store.Store
	metrics   *metrics.Metrics
	redis     *redisLink
	ari       *ariLink
	signaling *signaling.Server
	http      *server.Server
	operators *controller.Operators
	media     *webrtc.Engine
	calls     *calls.Manager
	agents    *agents.Registry
	router    *inbound.Router
	outbox    *webhooks.Outbox // nil when webhooks are off (Enqueue is then a no-op)
	deliverer *webhooks.Deliverer
}

func newApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, metrics: metrics.New()}
	st, err := store.Open(ctx, cfg.Storage.SQLitePath, cfg.Storage.BusyTimeout)
	if err != nil {
		return nil, err
	}
	a.store = st
	var rdb *redis.Client
	if cfg.Redis.URL != "" {
		opts, err := redis.ParseURL(cfg.Redis.URL)
		if err != nil {
			st.Close()
			return nil, &config.Error{Key: "redis.url", Reason: err.Error()}
		}
		// go-redis logs through the standard log package; keep it in slog.
		redis.SetLogger(redisLogger{log.With("component", "redis")})
		rdb = redis.NewClient(opts)
		a.redis = newRedisLink(rdb, a.metrics, log)
	}
	verifier, err := newTokenVerifier(cfg, rdb)
	if err != nil {
		st.Close()
		return nil, err
	}
	if cfg.Webhooks.URL != "" {
		a.outbox = webhooks.NewOutbox(st)
		wm, err := webhooks.NewMetrics(a.metrics.Registry)
		if err != nil {
			a.close()
			return nil, err
		}
		a.deliverer, err = webhooks.NewDeliverer(a.outbox, webhooks.Config{URL: cfg.Webhooks.URL,
			Secret: []byte(cfg.Webhooks.Secret), Timeout: cfg.Webhooks.Timeout, MaxBackoff: cfg.Webhooks.MaxBackoff,
			Log: log.With("component", "webhooks"), Metrics: wm})
		if err != nil {
			a.close()
			return nil, &config.Error{Key: "webhooks", Reason: err.Error()}
		}
	}
	a.agents = agents.New(cfg.Inbound.WrapUp)
	a.operators = controller.NewOperators(verifier, st, a.agents, a.metrics, log)
	iceServers := make([]webrtc.ICEServer, 0, len(cfg.Media.ICEServers))
	for _, is := range cfg.Media.ICEServers {
		iceServers = append(iceServers, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	a.media, err = webrtc.NewEngine(webrtc.Config{
		UDPPort: cfg.Media.UDPPort, NAT1To1IPs: cfg.Media.NAT1To1IPs, ICELite: cfg.Media.ICELite,
		ICEServers: iceServers, RTPBindIP: cfg.Media.RTPBindIP, Logger: log.With("component", "webrtc"),
	})
	if err != nil {
		a.close()
		return nil, &config.Error{Key: "media", Reason: err.Error()}
	}
	a.signaling = signaling.New(signaling.Config{
		AllowedOrigins: cfg.HTTP.AllowedOrigins, MaxMessageBytes: cfg.Signaling.MaxMessageBytes,
		RatePerSecond: cfg.Signaling.RatePerSecond, Burst: cfg.Signaling.Burst, LoginTimeout: cfg.Signaling.LoginTimeout,
		ICEServers: a.media.ICEServersForBrowser(),
	}, a.operators, a.metrics, log)
	if a.ari, err = newARILink(cfg.ARI, a.metrics, log); err != nil {
		a.close()
		return nil, err
	}
	ev := &domainEvents{outbox: a.outbox, agents: a.agents, store: st, log: log}
	a.calls = calls.NewManager(calls.Config{
		Endpoint: cfg.Calls.Endpoint, RingTimeout: cfg.Calls.RingTimeout,
		DisconnectGrace: cfg.Calls.DisconnectGrace, MOHClass: cfg.Calls.MOHClass,
		Events: ev,
	}, a.ari.client, st, log.With("component", "calls"))
	var lookup inbound.Lookup
	if cfg.CRM.LookupURL != "" {
		lookup = crmlookup.New(cfg.CRM.LookupURL, cfg.CRM.LookupTimeout, cfg.CRM.LookupCache)
	}
	a.router = inbound.New(a.ari.client, st, a.agents, a.calls, lookup, ev, log.With("component", "inbound"))
	a.ari.onEvent = a.router.HandleEvent
	a.ari.onReconnect = func(ctx context.Context) {
		if err := a.calls.Reconcile(ctx); err != nil {
			log.Warn("reconcile after ARI reconnect failed", "err", err)
		}
	}
	requests := softphone.NewRequests(time.Minute, a.agents.Notify, a.agents.Tabs)
	softphone.New(a.signaling, softphone.Deps{Engine: a.media, Calls: a.calls, Router: a.router, Agents: a.agents,
		Tasks: st, TaskEvents: ev, Requests: requests, Log: log.With("component", "softphone")})
	deps := server.Deps{DB: st, Metrics: a.metrics, Log: log, Websocket: a.signaling, Version: version, ARI: a.ari.State}
	if a.redis != nil {
		deps.Redis = a.redis.State
	}
	a.http = server.New(deps)
	registerUI(a.http.Echo)
	api.Register(a.http.Echo, api.Deps{Calls: st, Operators: st, Presence: a.agents, Keys: apikeys.NewManager(st),
		Targets: st, Tasks: st, TaskEvents: ev, ClickToCall: requests, Log: log.With("component", "api")})
	if err := a.http.Listen(cfg.HTTP.Listen); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// run serves until ctx ends, then shuts down gracefully: stop accepting, close
// websockets with a reason, wait for requests, flush the database.
func (a *app) run(ctx context.Context) error {
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); a.ari.Run(bg) }()
	if a.redis != nil {
		go a.redis.Run(bg)
	}
	whDone := make(chan struct{})
	if a.deliverer != nil {
		go func() { defer close(whDone); a.deliverer.Run(bg) }()
	} else {
		close(whDone)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.http.Serve() }()
	a.log.Info("crmphone serving", "addr", a.http.Addr().String(), "version", version,
		"ari", a.cfg.ARI.URL, "redis", a.redis != nil, "database", a.cfg.Storage.SQLitePath)

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	a.log.Info("crmphone shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if serr := a.signaling.Shutdown(sctx); serr != nil {
		a.log.Warn("websockets did not close in time", "err", serr)
	}
	if rerr := a.router.Shutdown(sctx); rerr != nil {
		a.log.Warn("offers did not end in time", "err", rerr)
	}
	if cerr := a.calls.Shutdown(sctx); cerr != nil {
		a.log.Warn("calls did not end in time", "err", cerr)
	}
	if herr := a.http.Shutdown(sctx); herr != nil && err == nil {
		err = fmt.Errorf("http shutdown: %w", herr)
	}
	stopBG()
	<-done
	<-whDone // before the store closes
	a.close()
	a.log.Info("crmphone stopped")
	return err
}

func (a *app) close() {
	if a.agents != nil {
		a.agents.Close()
	}
	if a.media != nil {
		a.media.Close()
	}
	if a.redis != nil {
		a.redis.Close()
	}
	if err := a.store.Close(); err != nil {
		a.log.Error("closing database", "err", err)
	}
}

// redisLink watches Redis so /readyz and metrics tell whether shared state works.
type redisLink struct {
	rdb     *redis.Client
	metrics *metrics.Metrics
	log     *slog.Logger
	state   linkState
}

func newRedisLink(rdb *redis.Client, m *metrics.Metrics, log *slog.Logger) *redisLink {
	return &redisLink{rdb: rdb, metrics: m, log: log}
}

func (r *redisLink) Run(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := r.rdb.Ping(pctx).Err()
		cancel()
		if ctx.Err() != nil {
			return
		}
		if r.state.set(err) {
			if err != nil {
				r.log.Warn("redis unreachable", "err", err)
			} else {
				r.log.Info("redis connected")
			}
		}
		if err == nil {
			r.metrics.RedisConnected.Set(1)
		} else {
			r.metrics.RedisConnected.Set(0)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *redisLink) State() server.LinkState { return r.state.get() }
func (r *redisLink) Close()                  { r.rdb.Close() }

var errNeverConnected = errors.New("not connected yet")

// redisLogger adapts go-redis's logger to slog. Its messages repeat what the
// redis link reports (connected or not), so they go at debug level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}

// domainEvents fans the domain's events out: webhooks to the CRM (through
// the durable outbox), operator availability, and task lists in the tabs.
type domainEvents struct {
	outbox *webhooks.Outbox
	agents *agents.Registry
	store  *store.Store
	log    *slog.Logger
}

func (d *domainEvents) CallAnswered(ctx context.Context, c store.Call) {
	d.enqueue(ctx, webhooks.Answered(c))
	if c.Direction != "outbound" {
		return
	}
	// Calling a number back closes its callback tasks.
	closed, err := d.store.CloseTasksForNumber(ctx, c.Number, c.ID)
	if err != nil {
		d.log.Error("closing callback tasks failed", "number", c.Number, "err", err)
	}
	for _, t := range closed {
		d.taskClosed(ctx, t, "auto", "called_back", c.ID)
	}
}

func (d *domainEvents) CallEnded(ctx context.Context, c store.Call) {
	d.enqueue(ctx, webhooks.Ended(c))
	if c.OperatorID != "" {
		d.agents.EndCall(c.OperatorID)
	}
}

func (d *domainEvents) CallOffered(ctx context.Context, c store.Call) {
	d.enqueue(ctx, webhooks.Offered(c))
}

func (d *domainEvents) CallMissed(ctx context.Context, c store.Call, reason string) {
	d.enqueue(ctx, webhooks.Missed(c, reason))
}

func (d *domainEvents) TasksChanged(ctx context.Context, targetID string, members []string) {
	for _, m := range members {
		d.agents.Notify(m, "tasks.changed", map[string]string{"target": targetID})
	}
	if len(members) == 0 {
		d.agents.Notify(targetID, "tasks.changed", map[string]string{"target": targetID})
	}
}

func (d *domainEvents) TaskClosed(ctx context.Context, t store.CallbackTask, by string) {
	d.taskClosed(ctx, t, by, "closed", "")
}

func (d *domainEvents) taskClosed(ctx context.Context, t store.CallbackTask, by, reason, callID string) {
	d.enqueue(ctx, webhooks.Closed(webhooks.TaskClosed{TaskID: t.ID, CallID: callID, OperatorID: by, Result: reason, ClosedAt: time.Now()}))
	members := []string{t.TargetID}
	if tg, err := d.store.GetRoutingTarget(ctx, t.TargetID); err == nil {
		members = tg.Members
	}
	d.TasksChanged(ctx, t.TargetID, members)
}

func (d *domainEvents) enqueue(ctx context.Context, ev webhooks.Event) {
	if _, err := d.outbox.Enqueue(ctx, ev); err != nil {
		d.log.Error("webhook enqueue failed", "type", ev.Type, "err", err)
	}
}
