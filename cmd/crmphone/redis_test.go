package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startRedis runs a real redis-server on a free loopback port.
func startRedis(t *testing.T) (url string, stop func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed: apt-get install redis-server")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port), stop
}

func redisState(t *testing.T, base string) (configured, connected bool) {
	t.Helper()
	_, body := get(t, base+"/readyz")
	var r struct {
		Ready bool `json:"ready"`
		Redis struct {
			Configured bool `json:"configured"`
			Connected  bool `json:"connected"`
		} `json:"redis"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || !r.Ready {
		t.Fatalf("/readyz %s", body)
	}
	return r.Redis.Configured, r.Redis.Connected
}

// Two controllers share Redis: a token used on one is refused on the other.
// Redis going away is reported, and the controllers keep serving.
func TestTwoControllersShareRedis(t *testing.T) {
	url, stopRedis := startRedis(t)
	cfg1, cfg2 := testConfig(t), testConfig(t)
	cfg1.Redis.URL, cfg2.Redis.URL = url, url
	a1, a2 := startApp(t, cfg1), startApp(t, cfg2)
	for _, a := range []*testApp{a1, a2} {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if conf, conn := redisState(t, a.base); conf && conn {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("redis not reported connected")
			}
		}
	}
	tok := mintV2(t, nil)
	if _, r := wsLogin(t, a1.base, tok); r.Error != nil {
		t.Fatalf("first use: %+v", r.Error)
	}
	if _, r := wsLogin(t, a2.base, tok); r.Error == nil || r.Error.Code != "replayed" {
		t.Fatalf("replay on the other controller: %+v", r)
	}
	stopRedis()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, conn := redisState(t, a1.base); !conn {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("redis loss not reported")
		}
	}
	if code, _ := get(t, a1.base+"/healthz"); code != 200 {
		t.Fatal("the controller stopped serving without Redis")
	}
	// Without Redis a token cannot be checked for replay: refused, not accepted blindly.
	if _, r := wsLogin(t, a1.base, mintV2(t, nil)); r.Error == nil || r.Error.Code != "internal" {
		t.Fatalf("login without Redis: %+v", r)
	}
	_, metrics := get(t, a1.base+"/metrics")
	if !strings.Contains(metrics, "crmphone_redis_connected 0") {
		t.Fatal("metrics must report redis down")
	}
}
