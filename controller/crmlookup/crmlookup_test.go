package crmlookup

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLookupCacheAndSanitize(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Query().Get("phone") {
		case "+15551234":
			w.Write([]byte(`{"name":"ACME\u0000 <b>Ltd</b>","title":"ACME","url":"javascript:alert(1)","fields":{"Orders":"3"}}`))
		case "slow":
			time.Sleep(300 * time.Millisecond)
			w.Write([]byte(`{"name":"late"}`))
		case "ok":
			w.Write([]byte(`{"name":"Bob","url":"https://crm.example.com/c/1"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := New(srv.URL+"/lookup?phone={number}", 100*time.Millisecond, time.Minute)
	card, err := c.Lookup(context.Background(), "+15551234")
	if err != nil {
		t.Fatal(err)
	}
	if card.Name != "ACME <b>Ltd</b>" || card.URL != "" || card.Fields["Orders"] != "3" {
		t.Fatalf("card = %+v", card)
	}
	c.Lookup(context.Background(), "+15551234")
	if hits.Load() != 1 {
		t.Fatalf("cache missed: %d hits", hits.Load())
	}
	if card, err := c.Lookup(context.Background(), "ok"); err != nil || card.URL != "https://crm.example.com/c/1" {
		t.Fatalf("ok: %+v %v", card, err)
	}
	if _, err := c.Lookup(context.Background(), "unknown"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	start := time.Now()
	if _, err := c.Lookup(context.Background(), "slow"); err == nil || time.Since(start) > 250*time.Millisecond {
		t.Fatalf("slow lookup must time out quickly: %v after %v", err, time.Since(start))
	}
	var nilClient *Client
	if _, err := nilClient.Lookup(context.Background(), "x"); !errors.Is(err, ErrNotFound) {
		t.Fatal("nil client must find nothing")
	}
	if got := Clean("a\x1b[31mb"+strings.Repeat("x", 200), 10); got != "a[31mbxxxx" {
		t.Fatalf("Clean = %q", got)
	}
}
