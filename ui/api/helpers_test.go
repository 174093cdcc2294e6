package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/crmphone/crmphone/controller/store"
)

// *store.Store is what cmd/crmphone wires in.
var (
	_ CallStore     = (*store.Store)(nil)
	_ OperatorStore = (*store.Store)(nil)
	_ TargetStore   = (*store.Store)(nil)
	_ TaskStore     = (*store.Store)(nil)
)

// everyRoute is one request per route; TestEveryRouteIsListed keeps it
// complete, so the authentication test covers each route.
var everyRoute = []string{
	"GET /api/v1/calls",
	"GET /api/v1/calls/call-1",
	"GET /api/v1/operators",
	"POST /api/v1/operators/op-1/calls",
	"GET /api/v1/targets",
	"GET /api/v1/targets/sales",
	"PUT /api/v1/targets/sales",
	"DELETE /api/v1/targets/sales",
	"GET /api/v1/tasks",
	"POST /api/v1/tasks/t-1/close",
	"GET /api/v1/nope",
}

// validBody is a body the route accepts, "" if it takes none.
func validBody(route string) string {
	switch {
	case strings.HasPrefix(route, "POST /api/v1/operators/"):
		return `{"number":"1"}`
	case strings.HasPrefix(route, "PUT "):
		return `{"strategy":"ring_all"}`
	case strings.HasPrefix(route, "POST /api/v1/tasks/"):
		return `{"by":"x"}`
	}
	return ""
}

// optionalRoutes are the routes of the Deps that may be nil.
var optionalRoutes = everyRoute[3:10]

type callRequest struct{ operatorID, number, crmRef string }

type fakeClickToCall struct {
	mu       sync.Mutex
	tabs     int
	err      error
	requests []callRequest
}

func (f *fakeClickToCall) RequestCall(_ context.Context, operatorID, number, crmRef string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, callRequest{operatorID, number, crmRef})
	return f.tabs, f.err
}

type recordedTaskEvents struct {
	mu     sync.Mutex
	closed []string // "task by"
}

func (r *recordedTaskEvents) TaskClosed(_ context.Context, t store.CallbackTask, by string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.ClosedAt == nil {
		by += " (task still open)"
	}
	r.closed = append(r.closed, t.ID+" "+by)
}

// send makes a request with an optional body and decodes a JSON answer
// (nil for an empty one).
func (f *fixture) send(t *testing.T, method, path, auth, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	f.e.ServeHTTP(rec, req)
	if rec.Body.Len() == 0 {
		return rec, nil
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %q", method, path, rec.Code, rec.Body.String())
	}
	return rec, out
}

// fieldsOf returns the validation_failed fields of an error body.
func fieldsOf(t *testing.T, rec *httptest.ResponseRecorder, body map[string]any) map[string]any {
	t.Helper()
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d (%v); want 422", rec.Code, body)
	}
	e := body["error"].(map[string]any)
	if e["code"] != "validation_failed" || e["message"] == "" {
		t.Fatalf("error = %v", e)
	}
	fields, _ := e["fields"].(map[string]any)
	for k, v := range fields {
		if s, _ := v.(string); s == "" {
			t.Fatalf("field %s has no explanation", k)
		}
	}
	return fields
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestEveryRouteIsListed(t *testing.T) {
	f := newFixture(t)
	for _, r := range f.e.Routes() {
		if !strings.HasPrefix(r.Path, Prefix) || r.Method == echo.RouteNotFound || r.Path == Prefix+"/openapi.json" {
			continue
		}
		pattern := regexp.MustCompile(`:[a-z_]+`).ReplaceAllString(regexp.QuoteMeta(r.Path), `[^/]+`)
		re := regexp.MustCompile("^" + r.Method + " " + pattern + "$")
		found := false
		for _, route := range everyRoute {
			found = found || re.MatchString(route)
		}
		if !found {
			t.Errorf("%s %s is not in everyRoute", r.Method, r.Path)
		}
	}
}

func TestNotImplementedWithoutDeps(t *testing.T) {
	f := newFixture(t)
	f.e = echo.New()
	Register(f.e, Deps{Calls: f.st, Operators: f.st, Presence: f.pres, Keys: f.keys})
	for _, route := range optionalRoutes {
		method, path, _ := strings.Cut(route, " ")
		rec, body := f.send(t, method, path, "Bearer "+f.key, validBody(route))
		if rec.Code != http.StatusNotImplemented || errorCode(body) != "not_implemented" {
			t.Fatalf("%s: %d %v; want 501 not_implemented", route, rec.Code, body)
		}
	}
}

type failingDeps struct{}

var errDisk = errors.New("disk on fire at /var/secret/path")

func (failingDeps) ListRoutingTargets(context.Context) ([]store.RoutingTarget, error) {
	return nil, errDisk
}
func (failingDeps) GetRoutingTarget(context.Context, string) (store.RoutingTarget, error) {
	return store.RoutingTarget{}, errDisk
}
func (failingDeps) PutRoutingTarget(context.Context, store.RoutingTarget) error { return errDisk }
func (failingDeps) DeleteRoutingTarget(context.Context, string) error           { return errDisk }
func (failingDeps) ListTasksPage(context.Context, store.TaskPageFilter) ([]store.CallbackTask, *store.TaskCursor, error) {
	return nil, nil, errDisk
}
func (failingDeps) GetTask(context.Context, string) (store.CallbackTask, error) {
	return store.CallbackTask{}, errDisk
}
func (failingDeps) CloseTask(context.Context, string, string, string, string) error { return errDisk }
func (failingDeps) RequestCall(context.Context, string, string, string) (int, error) {
	return 0, errDisk
}

func TestNewRoutesHideInternalErrors(t *testing.T) {
	f := newFixture(t)
	f.e = echo.New()
	Register(f.e, Deps{Calls: f.st, Operators: f.st, Presence: f.pres, Keys: f.keys,
		Targets: failingDeps{}, Tasks: failingDeps{}, ClickToCall: failingDeps{}})
	for _, route := range optionalRoutes {
		method, path, _ := strings.Cut(route, " ")
		rec, body := f.send(t, method, path, "Bearer "+f.key, validBody(route))
		if rec.Code != http.StatusInternalServerError || errorCode(body) != "internal_error" || strings.Contains(rec.Body.String(), "fire") {
			t.Fatalf("%s: %d %s", route, rec.Code, rec.Body.String())
		}
	}
}
