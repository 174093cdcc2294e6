package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/crmphone/crmphone/controller/agents"
	"github.com/crmphone/crmphone/controller/apikeys"
	"github.com/crmphone/crmphone/controller/store"
	"github.com/crmphone/crmphone/controller/webhooks"
)

type fixture struct {
	e      *echo.Echo
	st     *store.Store
	keys   *apikeys.Manager
	key    string // a valid key
	pres   *agents.Registry
	t0     time.Time
	callID []string // newest first
	c2c    *fakeClickToCall
	taskEv *recordedTaskEvents
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{e: echo.New(), st: st, keys: apikeys.NewManager(st), pres: agents.New(0),
		t0: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	_, secret, err := f.keys.Create(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	f.key = secret.Reveal()
	f.c2c, f.taskEv = &fakeClickToCall{tabs: 2}, &recordedTaskEvents{}
	Register(f.e, Deps{Calls: st, Operators: st, Presence: f.pres, Keys: f.keys, Targets: st, Tasks: st,
		TaskEvents: f.taskEv, ClickToCall: f.c2c})
	// 7 calls of op-1, a minute apart, and one of op-2.
	for i := range 7 {
		at := f.t0.Add(time.Duration(i) * time.Minute)
		id := fmt.Sprintf("call-%d", i)
		if err := st.CreateCall(ctx, store.Call{ID: id, Direction: "outbound", OperatorID: "op-1", Number: "+1555000" + fmt.Sprint(i),
			State: "dialing", CreatedAt: at, FarChannelID: "internal-chan"}); err != nil {
			t.Fatal(err)
		}
		f.callID = append([]string{id}, f.callID...)
	}
	ans, end := f.t0.Add(10*time.Second), f.t0.Add(70*time.Second)
	if err := st.UpdateCall(ctx, "call-0", store.CallUpdate{State: ptr("ended"), Cause: ptr("normal_clearing"), HangupBy: ptr("operator"),
		AnsweredAt: &ans, EndedAt: &end}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCall(ctx, store.Call{ID: "other", Direction: "inbound", OperatorID: "op-2", Number: "1", State: "ringing", CreatedAt: f.t0}); err != nil {
		t.Fatal(err)
	}
	return f
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) do(t *testing.T, path, auth string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	f.e.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET %s: %d, body not JSON: %q", path, rec.Code, rec.Body.String())
	}
	return rec, body
}

func TestAuthFailures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	revokedKey, revoked, _ := f.keys.Create(ctx, "old")
	if err := f.keys.Revoke(ctx, revokedKey.ID); err != nil {
		t.Fatal(err)
	}
	_, wrong, _ := f.keys.Create(ctx, "x")
	unknown := "crmk_0123456789abcdef_" + wrong.Reveal()[len(wrong.Reveal())-64:]
	tests := []struct{ name, auth string }{
		{"missing", ""},
		{"not bearer", "Basic " + f.key},
		{"bearer without key", "Bearer "},
		{"malformed key", "Bearer crmk_nothex_zz"},
		{"not a crmphone key", "Bearer eyJhbGciOi.abc.def"},
		{"unknown key", "Bearer " + unknown},
		{"wrong secret", "Bearer " + f.key[:len(f.key)-1] + "0"},
		{"revoked key", "Bearer " + revoked.Reveal()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "wrong secret" && strings.HasSuffix(f.key, "0") {
				tc.auth = "Bearer " + f.key[:len(f.key)-1] + "1"
			}
			for _, route := range everyRoute {
				method, path, _ := strings.Cut(route, " ")
				rec, body := f.send(t, method, path, tc.auth, validBody(route))
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("%s: status %d; want 401", route, rec.Code)
				}
				want := map[string]any{"error": map[string]any{"code": "unauthorized", "message": "a valid API key is required"}}
				if !reflect.DeepEqual(body, want) {
					t.Fatalf("%s: body %v; want %v (no detail)", route, body, want)
				}
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Fatalf("%s: no WWW-Authenticate", route)
				}
			}
		})
	}
	if len(f.c2c.requests) != 0 || len(f.taskEv.closed) != 0 {
		t.Fatalf("unauthenticated requests had effects: %v %v", f.c2c.requests, f.taskEv.closed)
	}
	if all, _ := f.st.ListRoutingTargets(ctx); len(all) != 0 {
		t.Fatalf("unauthenticated PUT stored %v", all)
	}
	rec, _ := f.do(t, "/api/v1/calls", "bearer "+f.key)
	if rec.Code != http.StatusOK {
		t.Fatalf("valid key (scheme in lower case): %d", rec.Code)
	}
	list, _ := f.keys.List(ctx)
	if list[0].LastUsedAt == nil {
		t.Fatal("last_used_at not recorded")
	}
}

func TestValidationErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		query  string
		fields []string
	}{
		{"limit=0", []string{"limit"}},
		{"limit=201", []string{"limit"}},
		{"limit=ten", []string{"limit"}},
		{"from=yesterday", []string{"from"}},
		{"to=2026-03-01", []string{"to"}},
		{"from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", []string{"to"}},
		{"direction=sideways", []string{"direction"}},
		{"state=on_hold", []string{"state"}},
		{"cursor=%21%21", []string{"cursor"}},
		{"cursor=" + url.QueryEscape("e30"), []string{"cursor"}}, // {} decodes but names nothing
		{"operator_id=" + strings.Repeat("x", 129), []string{"operator_id"}},
		{"limit=-1&from=x&direction=y", []string{"direction", "from", "limit"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			rec, body := f.do(t, "/api/v1/calls?"+tc.query, "Bearer "+f.key)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d; want 422", rec.Code)
			}
			e := body["error"].(map[string]any)
			if e["code"] != "validation_failed" || e["message"] == "" {
				t.Fatalf("error = %v", e)
			}
			fields := e["fields"].(map[string]any)
			var got []string
			for k, v := range fields {
				if s, _ := v.(string); s == "" {
					t.Fatalf("field %s has no explanation", k)
				}
				got = append(got, k)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("fields %v; want %v", got, tc.fields)
			}
		})
	}
	_, body := f.do(t, "/api/v1/calls?limit=0", "Bearer "+f.key)
	if msg := body["error"].(map[string]any)["fields"].(map[string]any)["limit"]; msg != "must be 1..200" {
		t.Fatalf("limit message = %v", msg)
	}
}

func TestPaging(t *testing.T) {
	f := newFixture(t)
	var ids []string
	next := ""
	pages := 0
	for {
		path := "/api/v1/calls?operator_id=op-1&limit=3"
		if next != "" {
			path += "&cursor=" + url.QueryEscape(next)
		}
		rec, body := f.do(t, path, "Bearer "+f.key)
		if rec.Code != http.StatusOK {
			t.Fatalf("page %d: %d %v", pages, rec.Code, body)
		}
		pages++
		items := body["items"].([]any)
		for _, it := range items {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		next = body["next_cursor"].(string)
		if next == "" {
			break
		}
		if len(items) != 3 {
			t.Fatalf("page %d has %d items before the end", pages, len(items))
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if pages != 3 || !reflect.DeepEqual(ids, f.callID) {
		t.Fatalf("%d pages, ids %v; want 3 pages of %v", pages, ids, f.callID)
	}

	// Filters combine with the time window.
	_, body := f.do(t, "/api/v1/calls?from=2026-03-01T09:02:00Z&to=2026-03-01T09:04:00Z", "Bearer "+f.key)
	if got := idsOf(body); !reflect.DeepEqual(got, []string{"call-3", "call-2"}) {
		t.Fatalf("window = %v", got)
	}
	_, body = f.do(t, "/api/v1/calls?direction=inbound&state=ringing", "Bearer "+f.key)
	if got := idsOf(body); !reflect.DeepEqual(got, []string{"other"}) || body["next_cursor"] != "" {
		t.Fatalf("inbound ringing = %v", body)
	}
	_, body = f.do(t, "/api/v1/calls?cause=normal_clearing", "Bearer "+f.key)
	if got := idsOf(body); !reflect.DeepEqual(got, []string{"call-0"}) {
		t.Fatalf("by cause = %v", got)
	}
}

func idsOf(body map[string]any) []string {
	var out []string
	for _, it := range body["items"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func TestGetCall(t *testing.T) {
	f := newFixture(t)
	rec, body := f.do(t, "/api/v1/calls/call-0", "Bearer "+f.key)
	if rec.Code != http.StatusOK || body["id"] != "call-0" || body["duration_s"] != float64(60) ||
		body["ended_at"] != "2026-03-01T09:01:10Z" || body["hangup_by"] != "operator" {
		t.Fatalf("call-0 = %d %v", rec.Code, body)
	}
	if _, leaked := body["far_channel_id"]; leaked {
		t.Fatal("internal channel ids exposed")
	}
	_, body = f.do(t, "/api/v1/calls/call-1", "Bearer "+f.key)
	if body["duration_s"] != nil || body["ended_at"] != nil {
		t.Fatalf("open call = %v; want null duration and end", body)
	}
	rec, body = f.do(t, "/api/v1/calls/nope", "Bearer "+f.key)
	if rec.Code != http.StatusNotFound || body["error"].(map[string]any)["code"] != "not_found" {
		t.Fatalf("unknown call = %d %v", rec.Code, body)
	}
	rec, body = f.do(t, "/api/v1/no/such/endpoint", "Bearer "+f.key)
	if rec.Code != http.StatusNotFound || body["error"].(map[string]any)["code"] != "not_found" {
		t.Fatalf("unknown endpoint = %d %v", rec.Code, body)
	}
}

func TestOperatorsWithPresence(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, op := range []store.Operator{{ID: "op-1", DisplayName: "Ann", Extension: "1001"}, {ID: "op-3", DisplayName: "Bob"}} {
		if err := f.st.UpsertOperator(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	f.pres.Join(ctx, "op-1", "Ann", "s1")
	f.pres.Join(ctx, "op-1", "Ann", "s2")
	f.pres.Join(ctx, "op-9", "Zed", "s3") // online elsewhere, not stored here yet
	rec, body := f.do(t, "/api/v1/operators", "Bearer "+f.key)
	if rec.Code != http.StatusOK {
		t.Fatal(rec.Code)
	}
	items := body["items"].([]any)
	if len(items) != 3 {
		t.Fatalf("items = %v", items)
	}
	ann, bob, zed := items[0].(map[string]any), items[1].(map[string]any), items[2].(map[string]any)
	if ann["id"] != "op-1" || ann["online"] != true || ann["sessions"] != float64(2) || ann["online_since"] == nil || ann["extension"] != "1001" {
		t.Fatalf("ann = %v", ann)
	}
	if bob["id"] != "op-3" || bob["online"] != false || bob["sessions"] != float64(0) || bob["online_since"] != nil || bob["last_seen_at"] == nil {
		t.Fatalf("bob = %v", bob)
	}
	if zed["id"] != "op-9" || zed["online"] != true || zed["display_name"] != "Zed" || zed["last_seen_at"] != nil {
		t.Fatalf("zed = %v", zed)
	}
}

type failingStore struct{}

func (failingStore) GetCall(context.Context, string) (store.Call, error) {
	return store.Call{}, errors.New("disk on fire at /var/secret/path")
}

func (failingStore) ListCallsPage(context.Context, store.CallPageFilter) ([]store.Call, *store.CallCursor, error) {
	return nil, nil, errors.New("disk on fire at /var/secret/path")
}

func TestInternalErrorsHideDetail(t *testing.T) {
	f := newFixture(t)
	e := echo.New()
	Register(e, Deps{Calls: failingStore{}, Operators: f.st, Presence: f.pres, Keys: f.keys})
	for _, path := range []string{"/api/v1/calls", "/api/v1/calls/x"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+f.key)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "fire") ||
			!strings.Contains(rec.Body.String(), `"internal_error"`) {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
		}
	}
}

// spec is the parts of the OpenAPI document the drift tests read.
type spec struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Webhooks   map[string]map[string]json.RawMessage `json:"webhooks"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadSpec(t *testing.T, f *fixture) spec {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil) // no key: the document is public
	rec := httptest.NewRecorder()
	f.e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("openapi.json: %d", rec.Code)
	}
	var s spec
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q", s.OpenAPI)
	}
	return s
}

func TestSpecMatchesRoutes(t *testing.T) {
	f := newFixture(t)
	s := loadSpec(t, f)
	routes := map[string]bool{}
	for _, r := range f.e.Routes() {
		if !strings.HasPrefix(r.Path, Prefix) || r.Method == echo.RouteNotFound {
			continue
		}
		p := strings.TrimPrefix(r.Path, Prefix)
		// echo's :param is OpenAPI's {param}.
		parts := strings.Split(p, "/")
		for i, part := range parts {
			if strings.HasPrefix(part, ":") {
				parts[i] = "{" + part[1:] + "}"
			}
		}
		routes[strings.ToLower(r.Method)+" "+strings.Join(parts, "/")] = true
	}
	documented := map[string]bool{}
	for path, ops := range s.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[method+" "+path] = true
		}
	}
	if len(routes) < 4 || !reflect.DeepEqual(routes, documented) {
		t.Fatalf("routes %v\nspec   %v", keys(routes), keys(documented))
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkSchema asserts that obj has exactly the properties of the named
// schema, and every required one.
func checkSchema(t *testing.T, s spec, name string, obj map[string]any) {
	t.Helper()
	sc, ok := s.Components.Schemas[name]
	if !ok {
		t.Fatalf("schema %s missing", name)
	}
	want := keys(sc.Properties)
	got := keys(obj)
	for _, r := range sc.Required {
		if _, ok := obj[r]; !ok {
			t.Fatalf("%s: required %q missing from %v", name, r, got)
		}
	}
	for _, k := range got {
		if _, ok := sc.Properties[k]; !ok {
			t.Fatalf("%s: response has %q, spec lists %v", name, k, want)
		}
	}
	if len(sc.Required) == len(want) && len(got) != len(want) {
		t.Fatalf("%s: response %v, spec %v", name, got, want)
	}
}

func TestResponsesMatchSpecSchemas(t *testing.T) {
	f := newFixture(t)
	s := loadSpec(t, f)
	ctx := context.Background()
	f.st.UpsertOperator(ctx, store.Operator{ID: "op-1", DisplayName: "Ann"})
	f.pres.Join(ctx, "op-1", "Ann", "s1")

	_, page := f.do(t, "/api/v1/calls?limit=2", "Bearer "+f.key)
	checkSchema(t, s, "CallPage", page)
	for _, it := range page["items"].([]any) {
		checkSchema(t, s, "Call", it.(map[string]any))
	}
	_, call := f.do(t, "/api/v1/calls/call-0", "Bearer "+f.key)
	checkSchema(t, s, "Call", call)
	_, ops := f.do(t, "/api/v1/operators", "Bearer "+f.key)
	checkSchema(t, s, "OperatorList", ops)
	for _, it := range ops["items"].([]any) {
		checkSchema(t, s, "Operator", it.(map[string]any))
	}
	for _, path := range []string{"/api/v1/calls?limit=0", "/api/v1/calls/nope", "/api/v1/calls"} {
		auth := "Bearer " + f.key
		if path == "/api/v1/calls" {
			auth = ""
		}
		_, body := f.do(t, path, auth)
		checkSchema(t, s, "Error", body)
		checkSchema(t, s, "ErrorDetail", body["error"].(map[string]any))
	}

	// Webhook payloads: the JSON crmphone sends matches the documented events.
	t0 := f.t0
	ans, end := t0.Add(time.Second), t0.Add(time.Minute)
	c := store.Call{ID: "c", Direction: "inbound", OperatorID: "op-1", Number: "1", CreatedAt: t0, AnsweredAt: &ans, EndedAt: &end}
	events := map[string]webhooks.Event{
		"CallOffered":  webhooks.Offered(c),
		"CallAnswered": webhooks.Answered(c),
		"CallEnded":    webhooks.Ended(c),
		"CallMissed":   webhooks.Missed(c, "no_answer"),
		"TaskClosed":   webhooks.Closed(webhooks.TaskClosed{TaskID: "t", CallID: "c", ClosedAt: t0}),
	}
	if len(events) != len(s.Webhooks) {
		t.Fatalf("spec documents %d webhooks, code sends %d", len(s.Webhooks), len(events))
	}
	for name, ev := range events {
		if _, ok := s.Webhooks[ev.Type]["post"]; !ok {
			t.Fatalf("webhook %s not in spec", ev.Type)
		}
		raw, err := json.Marshal(webhooks.Envelope{ID: "dlv_1", Type: ev.Type, CreatedAt: ev.At, Data: ev.Data})
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]any
		json.Unmarshal(raw, &env)
		checkSchema(t, s, name+"Event", env)
		checkSchema(t, s, name, env["data"].(map[string]any))
		var typ struct {
			Const string `json:"const"`
		}
		json.Unmarshal(s.Components.Schemas[name+"Event"].Properties["type"], &typ)
		if typ.Const != ev.Type {
			t.Fatalf("%sEvent type const %q; want %q", name, typ.Const, ev.Type)
		}
	}
}
