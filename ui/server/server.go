// Package server is crmphone's HTTP server (echo): health, readiness and
// metrics endpoints, the softphone websocket, and the mount point for the
// softphone page, the JS SDK and the admin panel.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/crmphone/crmphone/controller/metrics"
)

// Pinger is a dependency /readyz checks (the database).
type Pinger interface {
	Ping(ctx context.Context) error
}

// LinkState is a link /readyz reports without failing on it: Asterisk and
// Redis going away is normal and the controller keeps serving what works.
type LinkState struct {
	Configured bool      `json:"configured"`
	Connected  bool      `json:"connected"`
	Since      time.Time `json:"since,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
}

// LinkReporter reports a link's state.
type LinkReporter func() LinkState

// Deps are what the server serves.
type Deps struct {
	DB        Pinger
	ARI       LinkReporter // nil: reported as not configured
	Redis     LinkReporter
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	Websocket http.Handler // GET /ws
	Version   string
}

// Server wraps echo and the listener.
type Server struct {
	Echo *echo.Echo
	deps Deps
	ln   net.Listener
}

// New builds the routes. Callers add more routes on Echo before Serve.
func New(d Deps) *Server {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{Echo: e, deps: d}
	e.Use(s.logRequests)
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"status": "ok", "version": d.Version})
	})
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{})))
	if d.Websocket != nil {
		e.GET("/ws", echo.WrapHandler(d.Websocket))
	}
	return s
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{}
	status := http.StatusOK
	if err := s.deps.DB.Ping(ctx); err != nil {
		status = http.StatusServiceUnavailable
		body["database"] = map[string]any{"ok": false, "error": err.Error()}
	} else {
		body["database"] = map[string]any{"ok": true}
	}
	body["ari"] = report(s.deps.ARI)
	body["redis"] = report(s.deps.Redis)
	body["ready"] = status == http.StatusOK
	return c.JSON(status, body)
}

func report(r LinkReporter) LinkState {
	if r == nil {
		return LinkState{}
	}
	return r()
}

// logRequests writes one line per request with its latency. Only the path is
// logged, never the query string, where a client might put a token.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		elapsed := time.Since(start)
		s.deps.Metrics.HTTPRequests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
		s.deps.Metrics.HTTPDuration.WithLabelValues(route).Observe(elapsed.Seconds())
		s.deps.Log.LogAttrs(c.Request().Context(), slog.LevelInfo, "http",
			slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path),
			slog.Int("status", status), slog.Duration("latency", elapsed),
			slog.String("remote", c.RealIP()))
		return nil
	}
}

// Listen binds the address; Addr is known afterwards (useful with port 0).
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until Shutdown.
func (s *Server) Serve() error {
	s.Echo.Listener = s.ln
	srv := &http.Server{Handler: s.Echo, ReadHeaderTimeout: 10 * time.Second}
	s.Echo.Server = srv
	if err := srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Shutdown stops accepting and waits for requests in flight. Hijacked
// websockets are not tracked by net/http: close them before calling this.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.Echo.Server == nil {
		return nil
	}
	return s.Echo.Server.Shutdown(ctx)
}
