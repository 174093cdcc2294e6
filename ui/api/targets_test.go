package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestTargetValidation(t *testing.T) {
	f := newFixture(t)
	many := make([]string, MaxTargetMembers+1)
	for i := range many {
		many[i] = "op-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
	}
	manyJSON, _ := json.Marshal(many)
	tests := []struct {
		name, id, body string
		fields         []string
	}{
		{"strategy missing", "sales", `{}`, []string{"strategy"}},
		{"strategy unknown", "sales", `{"strategy":"random"}`, []string{"strategy"}},
		{"id charset", "sa%20les", `{"strategy":"ring_all"}`, []string{"id"}},
		{"id slash", "a%2Fb", `{"strategy":"ring_all"}`, []string{"id"}},
		{"id too long", strings.Repeat("a", 65), `{"strategy":"ring_all"}`, []string{"id"}},
		{"id differs from path", "sales", `{"id":"support","strategy":"ring_all"}`, []string{"id"}},
		{"name too long", "sales", `{"name":"` + strings.Repeat("é", 129) + `","strategy":"ring_all"}`, []string{"name"}},
		{"too many members", "sales", `{"members":` + string(manyJSON) + `,"strategy":"ring_all"}`, []string{"members"}},
		{"empty member", "sales", `{"members":["a",""],"strategy":"ring_all"}`, []string{"members[1]"}},
		{"member too long", "sales", `{"members":["` + strings.Repeat("m", 129) + `"],"strategy":"ring_all"}`, []string{"members[0]"}},
		{"member control char", "sales", `{"members":["a\nb"],"strategy":"ring_all"}`, []string{"members[0]"}},
		{"duplicate member", "sales", `{"members":["a","b","a"],"strategy":"ring_all"}`, []string{"members[2]"}},
		{"members not an array", "sales", `{"members":"a","strategy":"ring_all"}`, []string{"members"}},
		{"ring timeout 0", "sales", `{"strategy":"ring_all","ring_timeout_s":0}`, []string{"ring_timeout_s"}},
		{"ring timeout 601", "sales", `{"strategy":"ring_all","ring_timeout_s":601}`, []string{"ring_timeout_s"}},
		{"ring timeout fraction", "sales", `{"strategy":"ring_all","ring_timeout_s":1.5}`, []string{"ring_timeout_s"}},
		{"member timeout", "sales", `{"strategy":"ring_all","member_timeout_s":-1}`, []string{"member_timeout_s"}},
		{"on_no_answer", "sales", `{"strategy":"ring_all","on_no_answer":"voicemail"}`, []string{"on_no_answer"}},
		{"context unsafe", "sales", `{"strategy":"ring_all","continue_context":"from-internal,1"}`, []string{"continue_context"}},
		{"exten too long", "sales", `{"strategy":"ring_all","continue_exten":"` + strings.Repeat("1", 81) + `"}`, []string{"continue_exten"}},
		{"priority 0", "sales", `{"strategy":"ring_all","continue_exten":"s","continue_priority":0}`, []string{"continue_priority"}},
		{"priority alone", "sales", `{"strategy":"ring_all","continue_priority":2}`, []string{"continue_priority"}},
		{"hangup cause unknown", "sales", `{"strategy":"ring_all","on_no_answer":"hangup","hangup_cause":"bye"}`, []string{"hangup_cause"}},
		{"hangup cause with continue", "sales", `{"strategy":"ring_all","hangup_cause":"busy"}`, []string{"hangup_cause"}},
		{"continue settings with hangup", "sales", `{"strategy":"ring_all","on_no_answer":"hangup","continue_context":"a","continue_exten":"b","continue_priority":1}`,
			[]string{"continue_context", "continue_exten", "continue_priority"}},
		{"unknown field", "sales", `{"strategy":"ring_all","queue":"x"}`, []string{"queue"}},
		{"timestamps are read-only", "sales", `{"strategy":"ring_all","created_at":"2026-01-01T00:00:00Z"}`, []string{"created_at"}},
		{"several at once", "s%20l", `{"strategy":"x","ring_timeout_s":9999,"members":["a","a"]}`,
			[]string{"id", "members[1]", "ring_timeout_s", "strategy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, body := f.send(t, http.MethodPut, "/api/v1/targets/"+tc.id, "Bearer "+f.key, tc.body)
			got := keys(fieldsOf(t, rec, body))
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("fields %v; want %v (%v)", got, tc.fields, body)
			}
		})
	}
	if all, _ := f.st.ListRoutingTargets(t.Context()); len(all) != 0 {
		t.Fatalf("invalid targets were stored: %v", all)
	}
	_, body := f.send(t, http.MethodPut, "/api/v1/targets/sales", "Bearer "+f.key, `{"strategy":"ring_all","created_at":"x"}`)
	if msg := body["error"].(map[string]any)["fields"].(map[string]any)["created_at"]; msg != "read-only; leave it out" {
		t.Fatalf("created_at message = %v", msg)
	}
}

func TestTargetMalformedBodies(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"empty", ``, http.StatusBadRequest, "bad_request"},
		{"not JSON", `strategy=ring_all`, http.StatusBadRequest, "bad_request"},
		{"array", `[]`, http.StatusBadRequest, "bad_request"},
		{"cut short", `{"strategy":"ring_all"`, http.StatusBadRequest, "bad_request"},
		{"two objects", `{"strategy":"ring_all"}{}`, http.StatusBadRequest, "bad_request"},
		{"over 64 KiB", `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `","strategy":"ring_all"}`, http.StatusRequestEntityTooLarge, "body_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, body := f.send(t, http.MethodPut, "/api/v1/targets/sales", "Bearer "+f.key, tc.body)
			if rec.Code != tc.status || errorCode(body) != tc.code {
				t.Fatalf("%d %v; want %d %s", rec.Code, body, tc.status, tc.code)
			}
		})
	}
	// Trailing white space is not extra data.
	rec, _ := f.send(t, http.MethodPut, "/api/v1/targets/sales", "Bearer "+f.key, "{\"strategy\":\"ring_all\"}\n  ")
	if rec.Code != http.StatusCreated {
		t.Fatalf("trailing newline: %d", rec.Code)
	}
}

func TestTargetCRUD(t *testing.T) {
	f := newFixture(t)
	auth := "Bearer " + f.key
	rec, body := f.send(t, http.MethodGet, "/api/v1/targets", auth, "")
	if rec.Code != http.StatusOK || len(body["items"].([]any)) != 0 {
		t.Fatalf("empty list = %d %v", rec.Code, body)
	}

	// Create with defaults.
	rec, created := f.send(t, http.MethodPut, "/api/v1/targets/sales.eu", auth, `{"name":"Sales EU","members":["op-1","op-2"],"strategy":"round_robin"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create = %d %v", rec.Code, created)
	}
	want := map[string]any{"id": "sales.eu", "name": "Sales EU", "members": []any{"op-1", "op-2"}, "strategy": "round_robin",
		"ring_timeout_s": float64(30), "member_timeout_s": float64(15), "on_no_answer": "continue"}
	for k, v := range want {
		if !reflect.DeepEqual(created[k], v) {
			t.Fatalf("created %s = %v; want %v (%v)", k, created[k], v, created)
		}
	}
	if created["created_at"] == nil || created["created_at"] != created["updated_at"] {
		t.Fatalf("timestamps = %v %v", created["created_at"], created["updated_at"])
	}
	stored, err := f.st.GetRoutingTarget(t.Context(), "sales.eu")
	if err != nil || stored.Strategy != "round_robin" || stored.RingTimeoutS != 30 || len(stored.Members) != 2 {
		t.Fatalf("stored = %+v, %v", stored, err)
	}

	// GET answers what PUT answered.
	rec, got := f.send(t, http.MethodGet, "/api/v1/targets/sales.eu", auth, "")
	if rec.Code != http.StatusOK || !reflect.DeepEqual(got, created) {
		t.Fatalf("get = %d %v; want %v", rec.Code, got, created)
	}

	// Replace: a GET without its timestamps goes back as a PUT body.
	delete(got, "created_at")
	delete(got, "updated_at")
	got["on_no_answer"], got["hangup_cause"], got["members"] = "hangup", "busy", []string{}
	replacement, _ := json.Marshal(got)
	rec, replaced := f.send(t, http.MethodPut, "/api/v1/targets/sales.eu", auth, string(replacement))
	if rec.Code != http.StatusOK || replaced["hangup_cause"] != "busy" || len(replaced["members"].([]any)) != 0 ||
		replaced["created_at"] != created["created_at"] {
		t.Fatalf("replace = %d %v", rec.Code, replaced)
	}
	rec, _ = f.send(t, http.MethodPut, "/api/v1/targets/a-2", auth,
		`{"strategy":"ring_all","continue_context":"from-pstn","continue_exten":"*98#","continue_priority":2,"ring_timeout_s":600,"member_timeout_s":1}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("second target = %d", rec.Code)
	}
	_, list := f.send(t, http.MethodGet, "/api/v1/targets", auth, "")
	if ids := idsOf(list); !reflect.DeepEqual(ids, []string{"a-2", "sales.eu"}) {
		t.Fatalf("list ids = %v", ids)
	}
	a2 := list["items"].([]any)[0].(map[string]any)
	if a2["continue_exten"] != "*98#" || a2["continue_priority"] != float64(2) || a2["member_timeout_s"] != float64(1) {
		t.Fatalf("a-2 = %v", a2)
	}
	if _, has := a2["hangup_cause"]; has {
		t.Fatalf("unset hangup_cause shown: %v", a2)
	}

	// Delete.
	rec, body = f.send(t, http.MethodDelete, "/api/v1/targets/sales.eu", auth, "")
	if rec.Code != http.StatusNoContent || body != nil {
		t.Fatalf("delete = %d %v", rec.Code, body)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		rec, body = f.send(t, method, "/api/v1/targets/sales.eu", auth, "")
		if rec.Code != http.StatusNotFound || errorCode(body) != "not_found" {
			t.Fatalf("%s after delete = %d %v", method, rec.Code, body)
		}
	}
	_, list = f.send(t, http.MethodGet, "/api/v1/targets", auth, "")
	if ids := idsOf(list); !reflect.DeepEqual(ids, []string{"a-2"}) {
		t.Fatalf("list after delete = %v", ids)
	}
}
