package redisreplay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/crmphone/crmphone/tokens"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startRedis runs a throwaway redis-server on a random loopback port and
// returns a client for it; both are stopped when the test ends.
func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed: apt-get install redis-server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "yes")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Keep the log for a failing test; draining it also keeps redis from blocking on a full pipe.
	var logMu sync.Mutex
	var logText strings.Builder
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			logMu.Lock()
			logText.WriteString(sc.Text() + "\n")
			logMu.Unlock()
		}
	}()
	client := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	t.Cleanup(func() {
		_ = client.Close()
		_ = cmd.Process.Kill()
		<-drained
		_ = cmd.Wait()
	})
	// Generous deadline only to avoid hanging; readiness is decided by PING.
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return client
		}
		if time.Now().After(deadline) {
			logMu.Lock()
			defer logMu.Unlock()
			t.Fatalf("redis-server did not answer: %v\n%s", err, logText.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMarkUsed(t *testing.T) {
	client := startRedis(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, err := New(client, "test:", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.MarkUsed(ctx, "jti-1", now.Add(90*time.Second))
	if err != nil || !first {
		t.Fatalf("first use: %v %v", first, err)
	}
	again, err := s.MarkUsed(ctx, "jti-1", now.Add(90*time.Second))
	if err != nil || again {
		t.Fatalf("second use: %v %v", again, err)
	}
	other, err := s.MarkUsed(ctx, "jti-2", now.Add(90*time.Second))
	if err != nil || !other {
		t.Fatalf("other id: %v %v", other, err)
	}
	ttl, err := client.PTTL(ctx, "test:jti-1").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > 90*time.Second {
		t.Fatalf("key expiry %v, want within (0, 90s]", ttl)
	}
	// An until already reached still gets a short expiry, never a key that lives forever.
	if _, err := s.MarkUsed(ctx, "jti-late", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ttl, err := client.PTTL(ctx, "test:jti-late").Result(); err != nil || ttl <= 0 || ttl > minTTL {
		t.Fatalf("late key expiry %v (%v), want within (0, %v]", ttl, err, minTTL)
	}
	// Once Redis has dropped the key, the id is new again (simulated: the key expired).
	if err := client.Del(ctx, "test:jti-1").Err(); err != nil {
		t.Fatal(err)
	}
	if first, err := s.MarkUsed(ctx, "jti-1", now.Add(time.Minute)); err != nil || !first {
		t.Fatalf("after expiry: %v %v", first, err)
	}
}

func TestMarkUsedConcurrentControllers(t *testing.T) {
	client := startRedis(t)
	// Two stores with their own clients stand for two controllers.
	client2 := redis.NewClient(&redis.Options{Addr: client.Options().Addr})
	defer client2.Close()
	a, _ := New(client, "", nil)
	b, _ := New(client2, "", nil)
	until := time.Now().Add(time.Minute)
	var firsts atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(s *Store) {
			defer wg.Done()
			first, err := s.MarkUsed(context.Background(), "shared-jti", until)
			if err != nil {
				t.Error(err)
			}
			if first {
				firsts.Add(1)
			}
		}([]*Store{a, b}[i%2])
	}
	wg.Wait()
	if got := firsts.Load(); got != 1 {
		t.Fatalf("%d controllers saw a first use, want 1", got)
	}
}

func TestVerifierWithRedis(t *testing.T) {
	client := startRedis(t)
	secret, err := tokens.ParseKeyHex("8f2a61c0d4b7e3195a0c6e2f7b9d4a13c5e8f1027a4b6d9e0c3f5a7b9d1e2f40")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := tokens.NewKeyring([]tokens.Key{{Prefix: "CRM", ID: "k1", Format: tokens.FormatV2, Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokens.MintV2(kr, tokens.Claims{OperatorID: "op-1", ExpiresAt: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	store, _ := New(client, "", nil)
	controllerA, _ := tokens.NewVerifier(kr, store)
	controllerB, _ := tokens.NewVerifier(kr, store)
	if _, err := controllerA.Verify(context.Background(), tok); err != nil {
		t.Fatalf("first login: %v", err)
	}
	if _, err := controllerB.Verify(context.Background(), tok); !errors.Is(err, tokens.ErrReplayed) {
		t.Fatalf("replay on another controller: %v", err)
	}
}

func TestRedisDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 2 * time.Second})
	defer client.Close()
	s, _ := New(client, "", nil)
	_, err = s.MarkUsed(context.Background(), "x", time.Now().Add(time.Minute))
	if err == nil {
		t.Fatal("MarkUsed succeeded with no Redis")
	}
	if tokens.Code(err) != "internal" {
		t.Fatalf("Code = %q", tokens.Code(err))
	}
}

func TestNewNilClient(t *testing.T) {
	if _, err := New(nil, "", nil); err == nil {
		t.Fatal("nil client accepted")
	}
}
