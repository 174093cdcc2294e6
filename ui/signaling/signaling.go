// Package signaling serves the softphone websocket: a versioned JSON protocol
// (see PROTOCOL.md) whose first message must be a login with a CRM token.
package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/crmphone/crmphone/controller"
	"github.com/crmphone/crmphone/controller/metrics"
)

// Version is the protocol version every message carries in "v".
const Version = 1

// Close codes sent to the browser. 4000-4999 are ours.
const (
	CloseLoginFailed  = 4401 // the login was rejected; reconnect with a new token
	CloseLoginTimeout = 4408 // no login within the configured time
	CloseProtocol     = 4400 // the client broke the protocol (message before login...)
)

// Request is a message from the browser.
type Request struct {
	V      int             `json:"v"`
	ID     string          `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Response answers a Request with its id.
type Response struct {
	V      int    `json:"v"`
	ID     string `json:"id"`
	Result any    `json:"result,omitempty"`
	Error  *Error `json:"error,omitempty"`
}

// Event is a message the server sends on its own.
type Event struct {
	V     int    `json:"v"`
	Event string `json:"event"`
	Data  any    `json:"data,omitempty"`
}

// Error is the error object of a Response.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errf builds a protocol error a handler can return to the browser as is.
func Errf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Backend is the domain the websocket logs operators into.
type Backend interface {
	Login(ctx context.Context, token string, from controller.Client) (*controller.Session, error)
	Logout(ctx context.Context, sess *controller.Session)
}

// HandlerFunc answers one method for a logged-in connection. A returned
// *Error reaches the browser as is; any other error as "internal".
type HandlerFunc func(ctx context.Context, c *Conn, params json.RawMessage) (any, error)

// Config bounds the websocket.
type Config struct {
	AllowedOrigins  []string
	MaxMessageBytes int64
	RatePerSecond   float64
	Burst           int
	LoginTimeout    time.Duration
	PingInterval    time.Duration // default 25s
	SendQueue       int           // default 64 messages
	// ICEServers is handed to the browser in the login result for its RTCPeerConnection.
	ICEServers any
}

// Server accepts softphone websockets.
type Server struct {
	cfg      Config
	backend  Backend
	metrics  *metrics.Metrics
	log      *slog.Logger
	upgrader websocket.Upgrader
	handlers map[string]HandlerFunc
	// OnSession is called when a connection has logged in and when it closes
	// (closed=true); later features attach media sessions here.
	OnSession func(c *Conn, closed bool)

	mu      sync.Mutex
	conns   map[*Conn]struct{}
	closing bool
	connsWG sync.WaitGroup
}

// New creates the server. Register methods with Handle before serving.
func New(cfg Config, backend Backend, m *metrics.Metrics, log *slog.Logger) *Server {
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 25 * time.Second
	}
	if cfg.SendQueue == 0 {
		cfg.SendQueue = 64
	}
	s := &Server{cfg: cfg, backend: backend, metrics: m, log: log, handlers: map[string]HandlerFunc{}, conns: map[*Conn]struct{}{}}
	s.upgrader = websocket.Upgrader{
		ReadBufferSize: 4096, WriteBufferSize: 4096,
		CheckOrigin: s.originAllowed,
	}
	s.Handle("ping", func(context.Context, *Conn, json.RawMessage) (any, error) {
		return map[string]any{"time": time.Now().UnixMilli()}, nil
	})
	return s
}

// Handle registers the handler of a method (after login).
func (s *Server) Handle(method string, h HandlerFunc) { s.handlers[method] = h }

// originAllowed refuses cross-site websocket hijacking: a browser page from an
// origin not in the configuration cannot open the socket. Clients that send no
// Origin are not browsers and cannot ride an operator's cookies anyway.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	norm := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), norm) {
			return true
		}
	}
	return false
}

// ServeHTTP upgrades GET /ws.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		s.metrics.WSClosed.WithLabelValues("origin_refused").Inc()
		s.log.Warn("websocket origin refused", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		http.Error(w, `{"code":"origin_refused","message":"this origin may not open the softphone websocket"}`, http.StatusForbidden)
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.connsWG.Add(1)
	s.mu.Unlock()
	defer s.connsWG.Done()

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}
	c := newConn(s, ws, controller.Client{RemoteAddr: r.RemoteAddr, UserAgent: r.UserAgent()})
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.metrics.WSConnections.Inc()
	c.run(r.Context())
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.metrics.WSConnections.Dec()
}

// Shutdown closes every websocket with code 1001 and reason, then waits for
// the connections to finish (their sessions logged out) or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close(websocket.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.connsWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("signaling: shutdown: %w", ctx.Err())
	}
}

// Conns returns the logged-in connections of an operator (all if empty).
func (s *Server) Conns(operatorID string) []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Conn
	for c := range s.conns {
		if sess := c.Session(); sess != nil && (operatorID == "" || sess.Identity.OperatorID == operatorID) {
			out = append(out, c)
		}
	}
	return out
}

// errMessageTooBig and errRateLimited end a connection after an error reply.
var (
	errMessageTooBig = errors.New("message too big")
	errRateLimited   = errors.New("rate limited")
)

// Conn is one softphone websocket.
type Conn struct {
	srv     *Server
	ws      *websocket.Conn
	client  controller.Client
	limiter *rate.Limiter
	send    chan []byte
	closeCh chan struct{}

	closeOnce sync.Once
	closeMsg  []byte

	mu      sync.Mutex
	session *controller.Session
}

func newConn(s *Server, ws *websocket.Conn, client controller.Client) *Conn {
	return &Conn{
		srv: s, ws: ws, client: client,
		limiter: rate.NewLimiter(rate.Limit(s.cfg.RatePerSecond), s.cfg.Burst),
		send:    make(chan []byte, s.cfg.SendQueue),
		closeCh: make(chan struct{}),
	}
}

// Session is the logged-in session, nil before login.
func (c *Conn) Session() *controller.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Notify queues an event for the browser. A browser too slow to take its
// events is disconnected rather than allowed to hold memory or stall callers.
func (c *Conn) Notify(event string, data any) {
	c.enqueue(Event{V: Version, Event: event, Data: data})
}

func (c *Conn) enqueue(msg any) {
	b, err := json.Marshal(msg)
	if err != nil {
		c.srv.log.Error("signaling: marshal", "err", err)
		return
	}
	select {
	case c.send <- b:
	case <-c.closeCh:
	default:
		c.Close(websocket.ClosePolicyViolation, "client too slow")
	}
}

// Close sends a close frame with code and reason and ends the connection.
func (c *Conn) Close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeMsg = websocket.FormatCloseMessage(code, reason)
		c.srv.metrics.WSClosed.WithLabelValues(closeLabel(code)).Inc()
		close(c.closeCh)
	})
}

func closeLabel(code int) string {
	switch code {
	case websocket.CloseNormalClosure:
		return "normal"
	case websocket.CloseGoingAway:
		return "going_away"
	case websocket.CloseMessageTooBig:
		return "too_big"
	case websocket.ClosePolicyViolation:
		return "policy"
	case CloseLoginFailed:
		return "login_failed"
	case CloseLoginTimeout:
		return "login_timeout"
	case CloseProtocol:
		return "protocol"
	}
	return "other"
}

func (c *Conn) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	writerDone := make(chan struct{})
	go c.writeLoop(writerDone)

	readDone := make(chan error, 1)
	go func() { readDone <- c.readLoop(ctx) }()

	readFinished := false
	select {
	case err := <-readDone:
		readFinished = true
		switch {
		case errors.Is(err, errMessageTooBig):
			c.Close(websocket.CloseMessageTooBig, "message too big")
		case errors.Is(err, errRateLimited):
			c.Close(websocket.ClosePolicyViolation, "rate limit exceeded")
		default:
			c.Close(websocket.CloseNormalClosure, "")
		}
	case <-c.closeCh:
	}
	<-writerDone
	c.ws.Close() // unblocks the reader if it is still reading
	if !readFinished {
		<-readDone
	}
	if sess := c.Session(); sess != nil {
		if c.srv.OnSession != nil {
			c.srv.OnSession(c, true)
		}
		c.srv.backend.Logout(context.WithoutCancel(ctx), sess)
	}
}

func (c *Conn) writeLoop(done chan struct{}) {
	defer close(done)
	ping := time.NewTicker(c.srv.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case b := <-c.send:
			c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.Close(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				c.Close(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-c.closeCh:
			// Flush what is queued (e.g. the error that explains the close), then say goodbye.
			for {
				select {
				case b := <-c.send:
					c.ws.SetWriteDeadline(time.Now().Add(2 * time.Second))
					if c.ws.WriteMessage(websocket.TextMessage, b) != nil {
						return
					}
					continue
				default:
				}
				break
			}
			c.ws.WriteControl(websocket.CloseMessage, c.closeMsg, time.Now().Add(2*time.Second))
			return
		}
	}
}

func (c *Conn) readLoop(ctx context.Context) error {
	cfg := c.srv.cfg
	pongWait := 2*cfg.PingInterval + 10*time.Second
	c.ws.SetPongHandler(func(string) error {
		if c.Session() != nil {
			return c.ws.SetReadDeadline(time.Now().Add(pongWait))
		}
		return nil
	})
	c.ws.SetReadDeadline(time.Now().Add(cfg.LoginTimeout))
	for {
		data, err := c.readMessage(cfg.MaxMessageBytes)
		if err != nil {
			var ne interface{ Timeout() bool }
			if c.Session() == nil && errors.As(err, &ne) && ne.Timeout() {
				c.reply("", nil, Errf("login_timeout", "no login within %s", cfg.LoginTimeout))
				c.Close(CloseLoginTimeout, "login timeout")
			}
			return err
		}
		if int64(len(data)) > cfg.MaxMessageBytes {
			c.reply("", nil, Errf("message_too_big", "messages are limited to %d bytes", cfg.MaxMessageBytes))
			return errMessageTooBig
		}
		if !c.limiter.Allow() {
			c.reply("", nil, Errf("rate_limited", "more than %g messages per second", cfg.RatePerSecond))
			return errRateLimited
		}
		var req Request
		if err := json.Unmarshal(data, &req); err != nil {
			c.reply("", nil, Errf("bad_request", "not a JSON request object"))
			continue
		}
		if req.V != Version {
			c.reply(req.ID, nil, Errf("unsupported_version", "protocol version %d is not supported; use v=%d", req.V, Version))
			continue
		}
		if req.ID == "" || len(req.ID) > 64 || req.Method == "" {
			c.reply(truncate(req.ID, 64), nil, Errf("bad_request", "every request needs an id (1-64 characters) and a method"))
			continue
		}
		if c.Session() == nil {
			if req.Method != "login" {
				c.reply(req.ID, nil, Errf("login_required", "the first message must be login"))
				c.Close(CloseProtocol, "login required")
				return nil
			}
			if !c.login(ctx, req) {
				return nil
			}
			c.ws.SetReadDeadline(time.Now().Add(pongWait))
			continue
		}
		c.ws.SetReadDeadline(time.Now().Add(pongWait))
		c.dispatch(ctx, req)
	}
}

// readMessage reads one message but never more than limit+1 bytes of it, so
// an oversized message costs us nothing and still gets a clear error: the
// rest of it is never read, the connection is closed instead.
func (c *Conn) readMessage(limit int64) ([]byte, error) {
	_, r, err := c.ws.NextReader()
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

type loginParams struct {
	Token string `json:"token"`
}

func (c *Conn) login(ctx context.Context, req Request) bool {
	var p loginParams
	if err := json.Unmarshal(req.Params, &p); err != nil || p.Token == "" {
		c.reply(req.ID, nil, Errf("malformed", "login needs params.token"))
		c.Close(CloseLoginFailed, "login failed")
		return false
	}
	sess, err := c.srv.backend.Login(ctx, p.Token, c.client)
	if err != nil {
		code := "internal"
		var lerr *controller.LoginError
		if errors.As(err, &lerr) {
			code = lerr.Code
		}
		c.reply(req.ID, nil, Errf(code, "%s", loginMessages[code]))
		c.Close(CloseLoginFailed, "login failed")
		return false
	}
	c.mu.Lock()
	c.session = sess
	c.mu.Unlock()
	c.reply(req.ID, map[string]any{
		"session_id": sess.ID,
		"operator": map[string]any{
			"id":            sess.Identity.OperatorID,
			"display_name":  sess.Identity.DisplayName,
			"extension":     sess.Identity.Extension,
			"sip_identity":  sess.Identity.SIPIdentity,
			"dial_patterns": sess.Identity.DialPatterns,
		},
		"expires_at":  sess.Identity.ExpiresAt.UnixMilli(),
		"ice_servers": c.srv.iceServers(),
	}, nil)
	if c.srv.OnSession != nil {
		c.srv.OnSession(c, false)
	}
	return true
}

func (s *Server) iceServers() any {
	if s.cfg.ICEServers == nil {
		return []any{}
	}
	return s.cfg.ICEServers
}

// loginMessages say no more than the code does: detail stays in the server log.
var loginMessages = map[string]string{
	"malformed":   "the token is not in a format this server reads",
	"unknown_key": "the token names a key this server does not have",
	"bad_token":   "the token could not be verified",
	"expired":     "the token has expired; ask the CRM for a new one",
	"replayed":    "the token was already used; ask the CRM for a new one",
	"internal":    "the server could not complete the login; try again",
}

func (c *Conn) dispatch(ctx context.Context, req Request) {
	if req.Method == "login" {
		c.reply(req.ID, nil, Errf("already_logged_in", "this connection is logged in already"))
		return
	}
	h, ok := c.srv.handlers[req.Method]
	if !ok {
		c.reply(req.ID, nil, Errf("unknown_method", "unknown method %q", truncate(req.Method, 64)))
		return
	}
	res, err := h(ctx, c, req.Params)
	if err != nil {
		var perr *Error
		if errors.As(err, &perr) {
			c.reply(req.ID, nil, perr)
			return
		}
		c.srv.log.Error("signaling: handler failed", "method", req.Method, "err", err)
		c.reply(req.ID, nil, Errf("internal", "the server could not complete %s", req.Method))
		return
	}
	if res == nil {
		res = struct{}{}
	}
	c.reply(req.ID, res, nil)
}

func (c *Conn) reply(id string, result any, err *Error) {
	c.enqueue(Response{V: Version, ID: id, Result: result, Error: err})
}
