package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestNewResponsesMatchSpecSchemas(t *testing.T) {
	f := newFixture(t)
	s := loadSpec(t, f)
	addTasks(t, f)
	auth := "Bearer " + f.key
	f.send(t, http.MethodPost, "/api/v1/tasks/t2/close", auth, `{"by":"u"}`)

	// Both on_no_answer modes, so that every optional field shows up once.
	_, tg := f.send(t, http.MethodPut, "/api/v1/targets/a", auth,
		`{"strategy":"ring_all","members":["op-1"],"continue_context":"c","continue_exten":"s","continue_priority":1}`)
	checkSchema(t, s, "RoutingTarget", tg)
	_, tg = f.send(t, http.MethodPut, "/api/v1/targets/b", auth, `{"strategy":"longest_idle","on_no_answer":"hangup","hangup_cause":"busy"}`)
	checkSchema(t, s, "RoutingTarget", tg)
	_, tg = f.send(t, http.MethodGet, "/api/v1/targets/a", auth, "")
	checkSchema(t, s, "RoutingTarget", tg)
	_, list := f.send(t, http.MethodGet, "/api/v1/targets", auth, "")
	checkSchema(t, s, "RoutingTargetList", list)
	for _, it := range list["items"].([]any) {
		checkSchema(t, s, "RoutingTarget", it.(map[string]any))
	}

	_, page := f.send(t, http.MethodGet, "/api/v1/tasks?state=all&limit=3", auth, "")
	checkSchema(t, s, "TaskPage", page)
	for _, it := range page["items"].([]any) {
		checkSchema(t, s, "CallbackTask", it.(map[string]any))
	}
	_, task := f.send(t, http.MethodPost, "/api/v1/tasks/t0/close", auth, `{"by":"u"}`)
	checkSchema(t, s, "CallbackTask", task)

	_, call := f.send(t, http.MethodPost, "/api/v1/operators/op-1/calls", auth, `{"number":"1"}`)
	checkSchema(t, s, "ClickToCall", call)
	f.c2c.tabs = 0
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/operators/op-1/calls", `{"number":"1"}`},
		{http.MethodPut, "/api/v1/targets/a", `{}`},
		{http.MethodPut, "/api/v1/targets/a", `{`},
		{http.MethodDelete, "/api/v1/targets/zzz", ``},
	} {
		_, body := f.send(t, r.method, r.path, auth, r.body)
		checkSchema(t, s, "Error", body)
		checkSchema(t, s, "ErrorDetail", body["error"].(map[string]any))
	}
}

// jsonNames are the JSON field names of a struct type.
func jsonNames(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// The request bodies the spec documents are the ones the handlers decode:
// any other field is rejected, so the two must agree exactly.
func TestRequestSchemasMatchInputs(t *testing.T) {
	s := loadSpec(t, newFixture(t))
	for name, input := range map[string]any{
		"RoutingTargetInput": targetInput{},
		"TaskClose":          taskCloseInput{},
		"ClickToCallRequest": clickToCallInput{},
	} {
		if got, want := keys(s.Components.Schemas[name].Properties), jsonNames(input); !reflect.DeepEqual(got, want) {
			t.Errorf("%s documents %v; the handler reads %v", name, got, want)
		}
	}
	// RoutingTarget's fields are the input's plus the timestamps.
	want := append(jsonNames(targetInput{}), "created_at", "updated_at")
	sort.Strings(want)
	if got := keys(s.Components.Schemas["RoutingTarget"].Properties); !reflect.DeepEqual(got, want) {
		t.Errorf("RoutingTarget documents %v; want %v", got, want)
	}

	enum := func(schema, prop string) []string {
		var p struct {
			Enum []string `json:"enum"`
		}
		if err := json.Unmarshal(s.Components.Schemas[schema].Properties[prop], &p); err != nil {
			t.Fatal(err)
		}
		return p.Enum
	}
	for _, schema := range []string{"RoutingTarget", "RoutingTargetInput"} {
		for prop, values := range map[string][]string{"strategy": strategies, "on_no_answer": noAnswers, "hangup_cause": hangupCauses} {
			if got := enum(schema, prop); !reflect.DeepEqual(got, values) {
				t.Errorf("%s.%s enum %v; code accepts %v", schema, prop, got, values)
			}
		}
	}
}
