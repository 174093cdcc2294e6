package api

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmphone/crmphone/controller/store"
)

// addTasks stores t0..t4 of sales a minute apart, and u0 of support.
func addTasks(t *testing.T, f *fixture) {
	t.Helper()
	for i := range 5 {
		if err := f.st.CreateTask(t.Context(), store.CallbackTask{ID: fmt.Sprintf("t%d", i), Number: "+1555000" + fmt.Sprint(i),
			Name: "ACME", TargetID: "sales", CallID: fmt.Sprintf("c%d", i), Reason: "timeout",
			CreatedAt: f.t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.CreateTask(t.Context(), store.CallbackTask{ID: "u0", Number: "2", TargetID: "support", Reason: "nobody_available",
		CreatedAt: f.t0}); err != nil {
		t.Fatal(err)
	}
}

func TestTaskListValidation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		query  string
		fields []string
	}{
		{"state=pending", []string{"state"}},
		{"limit=0", []string{"limit"}},
		{"limit=201", []string{"limit"}},
		{"cursor=%21%21", []string{"cursor"}},
		{"target=" + strings.Repeat("x", 129), []string{"target"}},
		{"state=x&limit=y", []string{"limit", "state"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			rec, body := f.send(t, http.MethodGet, "/api/v1/tasks?"+tc.query, "Bearer "+f.key, "")
			got := keys(fieldsOf(t, rec, body))
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("fields %v; want %v", got, tc.fields)
			}
		})
	}
}

func TestTaskListAndClose(t *testing.T) {
	f := newFixture(t)
	addTasks(t, f)
	auth := "Bearer " + f.key
	list := func(query string) []string {
		t.Helper()
		rec, body := f.send(t, http.MethodGet, "/api/v1/tasks?"+query, auth, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %v", query, rec.Code, body)
		}
		return idsOf(body)
	}
	if got := list(""); !reflect.DeepEqual(got, []string{"t0", "u0", "t1", "t2", "t3", "t4"}) {
		t.Fatalf("open tasks = %v", got)
	}

	// Close t1 by hand.
	rec, task := f.send(t, http.MethodPost, "/api/v1/tasks/t1/close", auth, `{"by":"crm-user-17"}`)
	if rec.Code != http.StatusOK || task["id"] != "t1" || task["closed_by"] != "crm-user-17" || task["closed_reason"] != "closed" ||
		task["closed_at"] == nil || task["number"] != "+15550001" || task["target"] != "sales" || task["call_id"] != "c1" {
		t.Fatalf("close = %d %v", rec.Code, task)
	}
	if !reflect.DeepEqual(f.taskEv.closed, []string{"t1 crm-user-17"}) {
		t.Fatalf("task events = %v", f.taskEv.closed)
	}
	// Closing it again, or an unknown task, is 404 and tells nobody.
	for _, id := range []string{"t1", "nope"} {
		rec, body := f.send(t, http.MethodPost, "/api/v1/tasks/"+id+"/close", auth, `{"by":"crm-user-17"}`)
		if rec.Code != http.StatusNotFound || errorCode(body) != "not_found" {
			t.Fatalf("close %s = %d %v", id, rec.Code, body)
		}
	}
	if len(f.taskEv.closed) != 1 {
		t.Fatalf("task events = %v", f.taskEv.closed)
	}
	// A call back closes t3 by itself.
	if _, err := f.st.CloseTasksForNumber(t.Context(), "+15550003", "c-back"); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ query, want string }{
		{"", "[t0 u0 t2 t4]"},
		{"state=open&target=sales", "[t0 t2 t4]"},
		{"state=closed", "[t1 t3]"},
		{"state=all&target=support", "[u0]"},
		{"target=nobody", "[]"},
	}
	for _, tc := range tests {
		if got := fmt.Sprint(list(tc.query)); got != tc.want {
			t.Fatalf("%q = %s; want %s", tc.query, got, tc.want)
		}
	}
	_, body := f.send(t, http.MethodGet, "/api/v1/tasks?state=closed", auth, "")
	auto := body["items"].([]any)[1].(map[string]any)
	if auto["closed_by"] != "auto" || auto["closed_reason"] != "called_back" || auto["closed_call_id"] != "c-back" {
		t.Fatalf("closed by a call back = %v", auto)
	}
	_, body = f.send(t, http.MethodGet, "/api/v1/tasks?target=support", auth, "")
	if open := body["items"].([]any)[0].(map[string]any); open["closed_at"] != nil || open["closed_by"] != "" {
		t.Fatalf("open task = %v", open)
	}
}

func TestTaskPaging(t *testing.T) {
	f := newFixture(t)
	addTasks(t, f)
	var ids []string
	next, pages := "", 0
	for {
		path := "/api/v1/tasks?state=all&limit=4"
		if next != "" {
			path += "&cursor=" + url.QueryEscape(next)
		}
		rec, body := f.send(t, http.MethodGet, path, "Bearer "+f.key, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("page %d: %d %v", pages, rec.Code, body)
		}
		pages++
		ids = append(ids, idsOf(body)...)
		if next = body["next_cursor"].(string); next == "" || pages > 3 {
			break
		}
	}
	if pages != 2 || !reflect.DeepEqual(ids, []string{"t0", "u0", "t1", "t2", "t3", "t4"}) {
		t.Fatalf("%d pages: %v", pages, ids)
	}
}

func TestTaskCloseValidation(t *testing.T) {
	f := newFixture(t)
	addTasks(t, f)
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"by missing", `{}`, http.StatusUnprocessableEntity, "by"},
		{"by empty", `{"by":""}`, http.StatusUnprocessableEntity, "by"},
		{"by too long", `{"by":"` + strings.Repeat("b", 129) + `"}`, http.StatusUnprocessableEntity, "by"},
		{"by control char", `{"by":"a\u0000"}`, http.StatusUnprocessableEntity, "by"},
		{"by not a string", `{"by":17}`, http.StatusUnprocessableEntity, "by"},
		{"unknown field", `{"by":"a","reason":"done"}`, http.StatusUnprocessableEntity, "reason"},
		{"no body", ``, http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, body := f.send(t, http.MethodPost, "/api/v1/tasks/t0/close", "Bearer "+f.key, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("%d %v; want %d", rec.Code, body, tc.status)
			}
			if tc.field != "" {
				if fields := fieldsOf(t, rec, body); len(fields) != 1 || fields[tc.field] == nil {
					t.Fatalf("fields %v; want %s", fields, tc.field)
				}
			}
		})
	}
	if task, _ := f.st.GetTask(t.Context(), "t0"); task.ClosedAt != nil {
		t.Fatal("an invalid request closed the task")
	}
}
