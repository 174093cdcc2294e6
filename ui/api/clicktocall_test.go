package api

import (
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestClickToCall(t *testing.T) {
	f := newFixture(t)
	auth := "Bearer " + f.key
	rec, body := f.send(t, http.MethodPost, "/api/v1/operators/op-1/calls", auth, `{"number":" +1 (555) 010-99.00 ","crm_ref":"deal-42"}`)
	want := map[string]any{"operator_id": "op-1", "number": "+15550109900", "crm_ref": "deal-42", "tabs": float64(2)}
	if rec.Code != http.StatusAccepted || !reflect.DeepEqual(body, want) {
		t.Fatalf("202 = %d %v; want %v", rec.Code, body, want)
	}
	if !reflect.DeepEqual(f.c2c.requests, []callRequest{{"op-1", "+15550109900", "deal-42"}}) {
		t.Fatalf("requests = %v", f.c2c.requests)
	}

	// An operator id with characters escaped in the path arrives decoded.
	f.c2c.requests = nil
	rec, body = f.send(t, http.MethodPost, "/api/v1/operators/ann%40acme%2Fsales/calls", auth, `{"number":"*98#"}`)
	if rec.Code != http.StatusAccepted || body["operator_id"] != "ann@acme/sales" || body["crm_ref"] != "" {
		t.Fatalf("escaped id = %d %v", rec.Code, body)
	}
	if len(f.c2c.requests) != 1 || f.c2c.requests[0].operatorID != "ann@acme/sales" {
		t.Fatalf("requests = %v", f.c2c.requests)
	}

	// No open tab: 409.
	f.c2c.tabs = 0
	rec, body = f.send(t, http.MethodPost, "/api/v1/operators/op-2/calls", auth, `{"number":"1001"}`)
	if rec.Code != http.StatusConflict || errorCode(body) != "operator_offline" {
		t.Fatalf("offline = %d %v", rec.Code, body)
	}
}

func TestClickToCallValidation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, operator, body string
		fields               []string
	}{
		{"number missing", "op-1", `{}`, []string{"number"}},
		{"number empty", "op-1", `{"number":"  "}`, []string{"number"}},
		{"letters", "op-1", `{"number":"555-CALL"}`, []string{"number"}},
		{"dial string injection", "op-1", `{"number":"100&PJSIP/evil"}`, []string{"number"}},
		{"plus inside", "op-1", `{"number":"1+2"}`, []string{"number"}},
		{"too long", "op-1", `{"number":"` + strings.Repeat("1", 33) + `"}`, []string{"number"}},
		{"number not a string", "op-1", `{"number":15551234}`, []string{"number"}},
		{"crm_ref too long", "op-1", `{"number":"1","crm_ref":"` + strings.Repeat("r", 129) + `"}`, []string{"crm_ref"}},
		{"crm_ref control char", "op-1", `{"number":"1","crm_ref":"a\tb"}`, []string{"crm_ref"}},
		{"operator id control char", "op%0A1", `{"number":"1"}`, []string{"id"}},
		{"operator id too long", strings.Repeat("o", 129), `{"number":"1"}`, []string{"id"}},
		{"unknown field", "op-1", `{"number":"1","from":"2000"}`, []string{"from"}},
		{"all at once", "op%0A1", `{"number":"x","crm_ref":"\u0007"}`, []string{"crm_ref", "id", "number"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, body := f.send(t, http.MethodPost, "/api/v1/operators/"+tc.operator+"/calls", "Bearer "+f.key, tc.body)
			got := keys(fieldsOf(t, rec, body))
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("fields %v; want %v (%v)", got, tc.fields, body)
			}
		})
	}
	if len(f.c2c.requests) != 0 {
		t.Fatalf("invalid requests reached the softphone: %v", f.c2c.requests)
	}
	_, body := f.send(t, http.MethodPost, "/api/v1/operators/op-1/calls", "Bearer "+f.key, `{"number":"12a"}`)
	if msg := body["error"].(map[string]any)["fields"].(map[string]any)["number"]; msg != `character 'a' is not allowed` {
		t.Fatalf("number message = %v", msg)
	}
}
