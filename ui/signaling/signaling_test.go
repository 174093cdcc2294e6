package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/crmphone/crmphone/controller"
	"github.com/crmphone/crmphone/controller/agents"
	"github.com/crmphone/crmphone/controller/logging"
	"github.com/crmphone/crmphone/controller/metrics"
	"github.com/crmphone/crmphone/controller/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeTokens accepts "good-<operator>" and rejects "bad-<code>" with that code.
type fakeTokens struct{}

type codeErr string

func (e codeErr) Error() string { return "fake rejection " + string(e) }

func (fakeTokens) VerifyToken(_ context.Context, token string) (controller.Identity, error) {
	if op, ok := strings.CutPrefix(token, "good-"); ok {
		return controller.Identity{OperatorID: op, DisplayName: "Operator " + op, ExpiresAt: time.Now().Add(time.Hour)}, nil
	}
	return controller.Identity{}, codeErr(strings.TrimPrefix(token, "bad-"))
}

func (fakeTokens) Code(err error) string {
	var c codeErr
	if errors.As(err, &c) {
		return string(c)
	}
	return "internal"
}

type harness struct {
	srv      *Server
	http     *httptest.Server
	presence *agents.Registry
	store    *store.Store
	url      string
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pr := agents.New(0)
	m := metrics.New()
	ops := controller.NewOperators(fakeTokens{}, st, pr, m, logging.Discard())
	cfg := Config{AllowedOrigins: []string{"https://crm.example.com"}, MaxMessageBytes: 1024, RatePerSecond: 5, Burst: 10, LoginTimeout: 2 * time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	srv := New(cfg, ops, m, logging.Discard())
	hs := httptest.NewServer(srv)
	h := &harness{srv: srv, http: hs, presence: pr, store: st, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
		st.Close()
	})
	return h
}

func (h *harness) dial(t *testing.T, origin string) *websocket.Conn {
	t.Helper()
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(h.url, hdr)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func send(t *testing.T, ws *websocket.Conn, v any) {
	t.Helper()
	if err := ws.WriteJSON(v); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, ws *websocket.Conn) Response {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var r Response
	if err := ws.ReadJSON(&r); err != nil {
		t.Fatalf("read: %v", err)
	}
	return r
}

// closeCode reads until the server closes and returns its close code and reason.
func closeCode(t *testing.T, ws *websocket.Conn) (int, string) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		if err != nil {
			t.Fatalf("want a close frame, got %v", err)
		}
	}
}

func login(token string) map[string]any {
	return map[string]any{"v": 1, "id": "L1", "method": "login", "params": map[string]string{"token": token}}
}

func waitOnline(t *testing.T, p *agents.Registry, want int) []agents.Entry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		online, _ := p.Online(context.Background())
		if len(online) == want || time.Now().After(deadline) {
			if len(online) != want {
				t.Fatalf("online = %v, want %d operators", online, want)
			}
			return online
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLoginPresenceAndTabs(t *testing.T) {
	h := newHarness(t, nil)
	tab1 := h.dial(t, "https://crm.example.com")
	send(t, tab1, login("good-op1"))
	r := recv(t, tab1)
	if r.ID != "L1" || r.Error != nil {
		t.Fatalf("login response = %+v", r)
	}
	res := r.Result.(map[string]any)
	if res["session_id"] == "" || res["operator"].(map[string]any)["id"] != "op1" {
		t.Fatalf("login result = %v", res)
	}
	tab2 := h.dial(t, "") // non-browser client without Origin
	send(t, tab2, login("good-op1"))
	if r := recv(t, tab2); r.Error != nil {
		t.Fatalf("second tab: %+v", r.Error)
	}
	if online := waitOnline(t, h.presence, 1); online[0].Sessions != 2 {
		t.Fatalf("want 2 tabs, got %+v", online[0])
	}
	send(t, tab1, map[string]any{"v": 1, "id": "p", "method": "ping"})
	if r := recv(t, tab1); r.ID != "p" || r.Error != nil {
		t.Fatalf("ping: %+v", r)
	}
	send(t, tab1, login("good-op1"))
	if r := recv(t, tab1); r.Error == nil || r.Error.Code != "already_logged_in" {
		t.Fatalf("second login on one socket: %+v", r)
	}
	tab1.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
	tab1.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		e, ok, _ := h.presence.Get(context.Background(), "op1")
		if ok && e.Sessions == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after one tab closed: %+v %v", e, ok)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tab2.Close()
	waitOnline(t, h.presence, 0)
	logins, err := h.store.RecentLogins(context.Background(), 10)
	if err != nil || len(logins) != 2 || logins[0].Result != "ok" || logins[0].OperatorID != "op1" {
		t.Fatalf("audit = %+v, %v", logins, err)
	}
}

func TestLoginRejections(t *testing.T) {
	h := newHarness(t, nil)
	for _, code := range []string{"malformed", "unknown_key", "bad_token", "expired", "replayed"} {
		t.Run(code, func(t *testing.T) {
			ws := h.dial(t, "https://crm.example.com")
			send(t, ws, login("bad-"+code))
			r := recv(t, ws)
			if r.ID != "L1" || r.Error == nil || r.Error.Code != code {
				t.Fatalf("response = %+v", r)
			}
			if strings.Contains(r.Error.Message, "fake rejection") {
				t.Fatalf("detail leaked to the client: %q", r.Error.Message)
			}
			if c, _ := closeCode(t, ws); c != CloseLoginFailed {
				t.Fatalf("close code = %d, want %d", c, CloseLoginFailed)
			}
		})
	}
	waitOnline(t, h.presence, 0)
	logins, _ := h.store.RecentLogins(context.Background(), 10)
	if len(logins) != 5 || logins[0].Result != "replayed" {
		t.Fatalf("rejections must be audited: %+v", logins)
	}
}

func TestOriginRefused(t *testing.T) {
	h := newHarness(t, nil)
	for _, origin := range []string{"https://evil.example.com", "http://crm.example.com", "null"} {
		hdr := http.Header{"Origin": {origin}}
		ws, resp, err := websocket.DefaultDialer.Dial(h.url, hdr)
		if err == nil {
			ws.Close()
			t.Fatalf("origin %q accepted", origin)
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %q: want 403, got %v", origin, resp)
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	h := newHarness(t, nil)
	ws := h.dial(t, "")
	ws.WriteMessage(websocket.TextMessage, []byte("{not json"))
	if r := recv(t, ws); r.Error == nil || r.Error.Code != "bad_request" {
		t.Fatalf("bad json: %+v", r)
	}
	send(t, ws, map[string]any{"v": 2, "id": "x", "method": "login"})
	if r := recv(t, ws); r.ID != "x" || r.Error == nil || r.Error.Code != "unsupported_version" {
		t.Fatalf("version: %+v", r)
	}
	send(t, ws, map[string]any{"v": 1, "method": "login"})
	if r := recv(t, ws); r.Error == nil || r.Error.Code != "bad_request" {
		t.Fatalf("missing id: %+v", r)
	}
	send(t, ws, login("good-op2"))
	if r := recv(t, ws); r.Error != nil {
		t.Fatal(r.Error)
	}
	send(t, ws, map[string]any{"v": 1, "id": "u", "method": "teleport"})
	if r := recv(t, ws); r.ID != "u" || r.Error == nil || r.Error.Code != "unknown_method" {
		t.Fatalf("unknown method: %+v", r)
	}
}

func TestMessageBeforeLogin(t *testing.T) {
	h := newHarness(t, nil)
	ws := h.dial(t, "")
	send(t, ws, map[string]any{"v": 1, "id": "c", "method": "call"})
	if r := recv(t, ws); r.ID != "c" || r.Error == nil || r.Error.Code != "login_required" {
		t.Fatalf("response = %+v", r)
	}
	if c, _ := closeCode(t, ws); c != CloseProtocol {
		t.Fatalf("close = %d", c)
	}
}

func TestLoginTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.LoginTimeout = 200 * time.Millisecond })
	ws := h.dial(t, "")
	if r := recv(t, ws); r.Error == nil || r.Error.Code != "login_timeout" {
		t.Fatalf("response = %+v", r)
	}
	if c, _ := closeCode(t, ws); c != CloseLoginTimeout {
		t.Fatalf("close = %d", c)
	}
}

func TestSizeLimit(t *testing.T) {
	for _, size := range []int{1025, 5000} { // just over the limit, and over the hard limit
		h := newHarness(t, nil)
		ws := h.dial(t, "")
		send(t, ws, login("good-op3"))
		recv(t, ws)
		big := `{"v":1,"id":"big","method":"ping","params":"` + strings.Repeat("a", size) + `"}`
		ws.WriteMessage(websocket.TextMessage, []byte(big))
		if r := recv(t, ws); r.Error == nil || r.Error.Code != "message_too_big" {
			t.Fatalf("size %d: response = %+v", size, r)
		}
		if c, _ := closeCode(t, ws); c != websocket.CloseMessageTooBig {
			t.Fatalf("size %d: close = %d", size, c)
		}
		waitOnline(t, h.presence, 0)
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, nil)
	ws := h.dial(t, "")
	send(t, ws, login("good-op4"))
	recv(t, ws)
	for i := 0; i < 12; i++ {
		ws.WriteJSON(map[string]any{"v": 1, "id": "p", "method": "ping"})
	}
	var limited bool
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var r Response
		if err := ws.ReadJSON(&r); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
				t.Fatalf("want close 1008, got %v", err)
			}
			break
		}
		if r.Error != nil && r.Error.Code == "rate_limited" {
			limited = true
		}
	}
	if !limited {
		t.Fatal("no rate_limited error before the close")
	}
}

func TestShutdownClosesWithReason(t *testing.T) {
	h := newHarness(t, nil)
	ws := h.dial(t, "")
	send(t, ws, login("good-op5"))
	recv(t, ws)
	waitOnline(t, h.presence, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go h.srv.Shutdown(ctx)
	code, reason := closeCode(t, ws)
	if code != websocket.CloseGoingAway || reason != "server shutting down" {
		t.Fatalf("close = %d %q", code, reason)
	}
	waitOnline(t, h.presence, 0)
}

func TestHandlerErrors(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.Handle("fail", func(context.Context, *Conn, json.RawMessage) (any, error) {
		return nil, errors.New("database exploded at /secret/path")
	})
	h.srv.Handle("refuse", func(context.Context, *Conn, json.RawMessage) (any, error) {
		return nil, Errf("bad_number", "number not allowed")
	})
	ws := h.dial(t, "")
	send(t, ws, login("good-op6"))
	recv(t, ws)
	send(t, ws, map[string]any{"v": 1, "id": "f", "method": "fail"})
	if r := recv(t, ws); r.Error == nil || r.Error.Code != "internal" || strings.Contains(r.Error.Message, "secret") {
		t.Fatalf("internal error leaked or missing: %+v", r)
	}
	send(t, ws, map[string]any{"v": 1, "id": "r", "method": "refuse"})
	if r := recv(t, ws); r.Error == nil || r.Error.Code != "bad_number" {
		t.Fatalf("protocol error: %+v", r)
	}
}
