package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "crmphone.db")
	s, err := Open(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestMigrateEmptyDatabase(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != 5 {
		t.Fatalf("schema version = %d, %v; want 5", v, err)
	}
	want := map[string][]string{
		"operators":   {"id", "display_name", "crm_identity", "sip_identity", "extension", "created_at", "last_seen_at"},
		"login_audit": {"id", "at", "operator_id", "remote_addr", "user_agent", "result"},
	}
	for table, cols := range want {
		rows, err := s.DB().QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			got = append(got, n)
		}
		rows.Close()
		if !reflect.DeepEqual(got, cols) {
			t.Errorf("%s columns = %v, want %v", table, got, cols)
		}
		for _, c := range got {
			if strings.Contains(c, "password") {
				t.Errorf("%s has a password column %q: SIP passwords must not be stored", table, c)
			}
		}
	}
	var mode string
	if err := s.DB().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var busy int
	if err := s.DB().QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy != 1000 {
		t.Fatalf("busy_timeout = %d, %v; want 1000", busy, err)
	}
}

func TestReopenIsIdempotentAndRefusesNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	s.Close()
	s2, err := Open(ctx, path, time.Second)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if _, err := s2.DB().ExecContext(ctx, "INSERT INTO schema_migrations(version,name,applied_at) VALUES(99,'future',0)"); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if _, err := Open(ctx, path, time.Second); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("want ErrSchemaTooNew, got %v", err)
	}
}

func TestOperatorsAndAudit(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	clock := time.UnixMilli(1_700_000_000_000)
	s.now = func() time.Time { return clock }
	if err := s.UpsertOperator(ctx, Operator{ID: "op-1", DisplayName: "Ann", CRMIdentity: "CRM.k1", Extension: "1001"}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	if err := s.UpsertOperator(ctx, Operator{ID: "op-1", DisplayName: "Ann B.", CRMIdentity: "CRM.k1", Extension: "1001"}); err != nil {
		t.Fatal(err)
	}
	op, err := s.GetOperator(ctx, "op-1")
	if err != nil {
		t.Fatal(err)
	}
	if op.DisplayName != "Ann B." || !op.CreatedAt.Equal(time.UnixMilli(1_700_000_000_000)) || !op.LastSeenAt.Equal(clock) {
		t.Fatalf("upsert did not keep created_at / refresh the rest: %+v", op)
	}
	if _, err := s.GetOperator(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	long := strings.Repeat("x", 5000)
	for _, r := range []string{"ok", "expired"} {
		if err := s.RecordLogin(ctx, LoginAttempt{OperatorID: "op-1", RemoteAddr: "127.0.0.1", UserAgent: long, Result: r}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RecentLogins(ctx, 10)
	if err != nil || len(got) != 2 || got[0].Result != "expired" || len(got[0].UserAgent) != maxAuditField {
		t.Fatalf("audit = %+v, %v", got, err)
	}
	ops, err := s.ListOperators(ctx)
	if err != nil || len(ops) != 1 {
		t.Fatalf("list = %v, %v", ops, err)
	}
}
