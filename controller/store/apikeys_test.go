package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestAPIKeys(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	hash := bytes.Repeat([]byte{7}, 32)
	if err := s.CreateAPIKey(ctx, APIKey{ID: "k1", Name: "crm", SecretSHA256: hash, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(ctx, APIKey{ID: "k2", Name: "other", SecretSHA256: hash, CreatedAt: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(ctx, APIKey{ID: "k1", SecretSHA256: hash, CreatedAt: t0}); err == nil {
		t.Fatal("duplicate id accepted")
	}
	k, err := s.GetAPIKey(ctx, "k1")
	if err != nil || k.Name != "crm" || !bytes.Equal(k.SecretSHA256, hash) || !k.CreatedAt.Equal(t0) || k.LastUsedAt != nil || k.RevokedAt != nil {
		t.Fatalf("get = %+v, %v", k, err)
	}
	if err := s.TouchAPIKey(ctx, "k1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, "k2", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, "k2", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, "nope", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	if _, err := s.GetAPIKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	list, err := s.ListAPIKeys(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "k1" || list[1].ID != "k2" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("last used = %v", list[0].LastUsedAt)
	}
	if list[1].RevokedAt == nil || !list[1].RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("revoked at = %v; want the first revocation", list[1].RevokedAt)
	}
}
