package apikeys

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmphone/crmphone/controller/store"
)

func newManager(t *testing.T, now *time.Time) (*Manager, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewManager(st, WithClock(func() time.Time { return *now })), st
}

func TestCreateVerifyRevoke(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_700_000_000_000)
	m, st := newManager(t, &now)
	k, secret, err := m.Create(ctx, "crm prod")
	if err != nil {
		t.Fatal(err)
	}
	full := secret.Reveal()
	if !strings.HasPrefix(full, "crmk_"+k.ID+"_") || len(full) != len("crmk_")+16+1+64 {
		t.Fatalf("key %q does not read crmk_<16 hex id>_<64 hex secret>", full)
	}
	for _, shown := range []string{secret.String(), fmt.Sprintf("%v %s %#v", secret, secret, secret)} {
		if strings.Contains(shown, full[len("crmk_")+17:]) {
			t.Fatalf("formatting leaks the secret: %s", shown)
		}
	}
	rec, err := st.GetAPIKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rec.SecretSHA256), full[len(full)-64:]) || len(rec.SecretSHA256) != 32 {
		t.Fatalf("store holds %d bytes; want only the 32-byte hash", len(rec.SecretSHA256))
	}

	got, err := m.Verify(ctx, full)
	if err != nil || got.ID != k.ID || got.Name != "crm prod" {
		t.Fatalf("verify = %+v, %v", got, err)
	}
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(now) {
		t.Fatalf("last used = %v; want %v", got.LastUsedAt, now)
	}
	// Within the touch interval last_used_at is not rewritten; after it, it is.
	first := now
	now = now.Add(30 * time.Second)
	if _, err := m.Verify(ctx, full); err != nil {
		t.Fatal(err)
	}
	if rec, _ := st.GetAPIKey(ctx, k.ID); !rec.LastUsedAt.Equal(first) {
		t.Fatalf("last used rewritten within the interval: %v", rec.LastUsedAt)
	}
	now = now.Add(time.Minute)
	if _, err := m.Verify(ctx, full); err != nil {
		t.Fatal(err)
	}
	if rec, _ := st.GetAPIKey(ctx, k.ID); !rec.LastUsedAt.Equal(now) {
		t.Fatalf("last used = %v; want %v", rec.LastUsedAt, now)
	}

	other, otherSecret, err := m.Create(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret := full[:len(full)-1] + flip(full[len(full)-1])
	tests := []struct {
		name string
		key  string
		want error
	}{
		{"empty", "", ErrMissing},
		{"no prefix", strings.TrimPrefix(full, "crmk_"), ErrMalformed},
		{"short secret", full[:len(full)-2], ErrMalformed},
		{"upper-case hex", strings.ToUpper(full[:5]) + full[5:], ErrMalformed},
		{"no separator", "crmk_" + k.ID, ErrMalformed},
		{"wrong secret", wrongSecret, ErrUnknown},
		{"unknown id", "crmk_0000000000000000_" + full[len(full)-64:], ErrUnknown},
		{"other key's secret with this id", "crmk_" + k.ID + otherSecret.Reveal()[len("crmk_")+16:], ErrUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.Verify(ctx, tc.key); !errors.Is(err, tc.want) {
				t.Fatalf("verify = %v; want %v", err, tc.want)
			}
		})
	}

	if err := m.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, full); !errors.Is(err, ErrRevoked) || Code(err) != "revoked" {
		t.Fatalf("revoked key: %v", err)
	}
	if err := m.Revoke(ctx, otherSecret.Reveal()); err != nil {
		t.Fatalf("revoke by full key: %v", err)
	}
	if err := m.Revoke(ctx, "nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("revoke unknown: %v", err)
	}
	list, err := m.List(ctx)
	if err != nil || len(list) != 2 || !list[0].Revoked() || !list[1].Revoked() || list[1].ID != other.ID {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
