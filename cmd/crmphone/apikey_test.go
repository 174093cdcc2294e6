package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/crmphone/crmphone/controller/agents"
	"github.com/crmphone/crmphone/controller/apikeys"
	"github.com/crmphone/crmphone/controller/store"
	"github.com/crmphone/crmphone/ui/api"
)

func TestAPIKeyCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "var", "crmphone.db")
	cfgFile := filepath.Join(dir, "crmphone.yaml")
	writeYAML(t, cfgFile, "storage:\n  sqlite_path: "+dbPath+"\n")
	runKey := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := cmdAPIKey(ctx, args, &out, &errOut, nil)
		return out.String(), errOut.String(), err
	}

	out, msg, err := runKey("create", "-config", cfgFile, "-name", "crm prod")
	if err != nil {
		t.Fatalf("create: %v %s", err, msg)
	}
	key := strings.TrimSpace(out)
	id, _, err := apikeys.Parse(key)
	if err != nil || !strings.Contains(msg, id) || strings.Contains(msg, key) {
		t.Fatalf("create printed key %q, message %q: %v", key, msg, err)
	}

	// The printed key opens the API served from the same database.
	st, err := store.Open(ctx, dbPath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := echo.New()
	api.Register(e, api.Deps{Calls: st, Operators: st, Presence: agents.New(0), Keys: apikeys.NewManager(st)})
	status := func() int {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/operators", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code
	}
	if s := status(); s != http.StatusOK {
		t.Fatalf("new key: status %d", s)
	}

	out, _, err = runKey("list", "-config", cfgFile)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "crm prod") || !strings.Contains(out, "active") ||
		strings.Contains(out, key[len(key)-64:]) {
		t.Fatalf("list: %v\n%s", err, out)
	}

	// Revoking with the full key by mistake works and does not echo it.
	_, msg, err = runKey("revoke", "-config", cfgFile, key)
	if err != nil || strings.Contains(msg, key) || !strings.Contains(msg, id) {
		t.Fatalf("revoke: %v %q", err, msg)
	}
	if s := status(); s != http.StatusUnauthorized {
		t.Fatalf("revoked key: status %d", s)
	}
	out, _, _ = runKey("list", "-config", cfgFile)
	if !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke:\n%s", out)
	}
	if _, _, err := runKey("revoke", "-config", cfgFile, "-id", "0000000000000000"); err == nil || errors.Is(err, errUsage) {
		t.Fatalf("revoke unknown: %v", err)
	}

	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"create", "-config", cfgFile},        // no name
		{"revoke", "-config", cfgFile},        // no id
		{"list", "-config", cfgFile, "extra"}, // stray argument
	} {
		if _, _, err := runKey(args...); !errors.Is(err, errUsage) {
			t.Fatalf("%v: %v; want usage error", args, err)
		}
	}
	// Environment overrides reach the command like serve.
	var out2, errOut bytes.Buffer
	if err := cmdAPIKey(ctx, []string{"list"}, &out2, &errOut, []string{"CRMPHONE_STORAGE_SQLITE_PATH=" + dbPath}); err != nil ||
		!strings.Contains(out2.String(), id) {
		t.Fatalf("list via environment: %v %s", err, out2.String())
	}
}
