package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/crmphone/crmphone/controller/config"
	"github.com/crmphone/crmphone/controller/logging"
	"github.com/crmphone/crmphone/tokens"
)

const (
	testV2Key     = "5a1e0b7c3d9f4e2a8b6c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a"
	testLegacyKey = "00112233445566778899aabbccddeeff"
	testARIPass   = "ari-pass-do-not-log"
	testSIPPass   = "sip-pass-do-not-log"
)

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testApp struct {
	*app
	base   string
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.HTTP.AllowedOrigins = []string{"https://crm.example.com"}
	cfg.Storage.SQLitePath = filepath.Join(t.TempDir(), "crmphone.db")
	cfg.ARI.URL = "http://127.0.0.1:1" // nothing listens: the PBX is "down"
	cfg.ARI.Password = testARIPass
	cfg.Tokens.Keys = []config.TokenKey{
		{Prefix: "CRM", ID: "k1", Format: "v2", SecretHex: testV2Key},
		{Prefix: "WCS", Format: "legacy", SecretHex: testLegacyKey},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startApp(t *testing.T, cfg config.Config) *testApp {
	t.Helper()
	logs := &syncBuffer{}
	log, err := logging.New(logs, "debug", "text")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{app: a, base: "http://" + a.http.Addr().String(), logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { ta.done <- a.run(ctx) }()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

func (ta *testApp) stop(t *testing.T) {
	ta.cancel()
	select {
	case err, ok := <-ta.done:
		if !ok {
			return // already stopped by the test
		}
		if err != nil {
			t.Errorf("run: %v", err)
		}
		close(ta.done)
	case <-time.After(15 * time.Second):
		t.Error("app did not stop")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mintV2(t *testing.T, mutate func(*tokens.Claims)) string {
	t.Helper()
	secret, _ := hex.DecodeString(testV2Key)
	kr, err := tokens.NewKeyring([]tokens.Key{{Prefix: "CRM", ID: "k1", Format: tokens.FormatV2, Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := tokens.Claims{
		TokenID: randomID(), OperatorID: "op-17", DisplayName: "Ann", Extension: "1001",
		SIP:      &tokens.SIPIdentity{Login: "1001", AuthName: "1001", Password: testSIPPass, Domain: "pbx.example.com"},
		IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute), DialPatterns: []string{"_8XXXXXXXXXX"},
	}
	if mutate != nil {
		mutate(&c)
	}
	tok, err := tokens.MintV2(kr, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// mintLegacyOpenSSL mints a legacy token with the openssl command line, as a
// PHP or shell CRM would.
func mintLegacyOpenSSL(t *testing.T, expires time.Time) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed: apt-get install openssl")
	}
	iv := "0f0e0d0c0b0a09080706050403020100"
	xml := fmt.Sprintf("<token><sip_login>2002</sip_login><sip_auth_name>2002</sip_auth_name><sip_password>%s</sip_password>"+
		"<sip_domain>pbx.example.com</sip_domain><sip_outbound_proxy></sip_outbound_proxy><sip_port>5060</sip_port>"+
		"<expires>%d</expires><operator_id>op-legacy</operator_id><display_name>Bob</display_name></token>", testSIPPass, expires.UnixMilli())
	cmd := exec.Command("openssl", "enc", "-aes-128-ctr", "-K", testLegacyKey, "-iv", iv, "-nosalt")
	cmd.Stdin = strings.NewReader(xml)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	return "WCS:" + iv + hex.EncodeToString(out)
}

type wsResp struct {
	ID     string         `json:"id"`
	Result map[string]any `json:"result"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func wsLogin(t *testing.T, base, token string) (*websocket.Conn, wsResp) {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", http.Header{"Origin": {"https://crm.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	ws.WriteJSON(map[string]any{"v": 1, "id": "1", "method": "login", "params": map[string]string{"token": token}})
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var r wsResp
	if err := ws.ReadJSON(&r); err != nil {
		t.Fatal(err)
	}
	return ws, r
}

func TestServeHealthReadyMetrics(t *testing.T) {
	ta := startApp(t, testConfig(t))
	if code, body := get(t, ta.base+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	code, body := get(t, ta.base+"/readyz")
	var ready struct {
		Ready bool `json:"ready"`
		ARI   struct {
			Configured, Connected bool
			LastError             string `json:"last_error"`
		} `json:"ari"`
		Redis struct{ Configured bool } `json:"redis"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 200 || !ready.Ready {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	if !ready.ARI.Configured || ready.ARI.Connected || ready.ARI.LastError == "" || ready.Redis.Configured {
		t.Fatalf("/readyz must report ARI down and Redis not configured: %s", body)
	}
	if code, body := get(t, ta.base+"/metrics"); code != 200 ||
		!strings.Contains(body, "crmphone_operators_online") || !strings.Contains(body, "crmphone_ari_connected 0") {
		t.Fatalf("/metrics = %d, missing crmphone metrics", code)
	}
}

func TestLoginBothFormatsAndEveryRejection(t *testing.T) {
	ta := startApp(t, testConfig(t))
	v2 := mintV2(t, nil)
	ws, r := wsLogin(t, ta.base, v2)
	if r.Error != nil || r.Result["operator"].(map[string]any)["id"] != "op-17" {
		t.Fatalf("v2 login: %+v", r)
	}
	legacy := mintLegacyOpenSSL(t, time.Now().Add(time.Minute))
	_, r = wsLogin(t, ta.base, legacy)
	if r.Error != nil || r.Result["operator"].(map[string]any)["id"] != "op-legacy" {
		t.Fatalf("legacy login: %+v", r)
	}
	online, _ := ta.operators.Online(context.Background())
	if len(online) != 2 {
		t.Fatalf("online = %+v", online)
	}

	// Flip one ciphertext byte and re-encode: a well-formed token that fails authentication.
	body, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(mintV2(t, nil), "CRM.k1:"))
	if err != nil {
		t.Fatal(err)
	}
	body[20] ^= 0x01
	tampered := "CRM.k1:" + base64.RawURLEncoding.EncodeToString(body)
	rejections := map[string]string{
		"malformed":   "not-a-token",
		"unknown_key": strings.Replace(mintV2(t, nil), "CRM.k1:", "CRM.k9:", 1),
		"bad_token":   tampered,
		"expired": mintV2(t, func(c *tokens.Claims) {
			c.IssuedAt = time.Now().Add(-time.Hour)
			c.ExpiresAt = time.Now().Add(-10 * time.Minute)
		}),
		"replayed": v2,
	}
	for code, tok := range rejections {
		_, r := wsLogin(t, ta.base, tok)
		if r.Error == nil || r.Error.Code != code {
			t.Errorf("%s: got %+v", code, r)
		}
	}
	if _, r := wsLogin(t, ta.base, mintLegacyOpenSSL(t, time.Now().Add(-time.Hour))); r.Error == nil || r.Error.Code != "expired" {
		t.Errorf("expired legacy: %+v", r)
	}
	ws.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		online, _ := ta.operators.Online(context.Background())
		if len(online) == 1 && online[0].OperatorID == "op-legacy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("op-17 should be offline after its socket closed: %+v", online)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, metrics := get(t, ta.base+"/metrics")
	for _, want := range []string{`crmphone_logins_total{result="ok"} 2`, `crmphone_logins_total{result="replayed"} 1`, `crmphone_logins_total{result="expired"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// Secrets never reach a log line.
	logs := ta.logs.String()
	for name, secret := range map[string]string{"v2 token": v2, "legacy token": legacy, "v2 key": testV2Key,
		"legacy key": testLegacyKey, "sip password": testSIPPass, "ari password": testARIPass, "token body": v2[len("CRM.k1:"):][:20]} {
		if strings.Contains(logs, secret) {
			t.Errorf("%s found in the logs", name)
		}
	}
	if !strings.Contains(logs, "login rejected") || !strings.Contains(logs, "operator online") {
		t.Errorf("expected login log lines, got:\n%s", logs)
	}
}

func TestGracefulShutdownClosesWebsockets(t *testing.T) {
	ta := startApp(t, testConfig(t))
	ws, r := wsLogin(t, ta.base, mintV2(t, nil))
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	ta.cancel()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var err error
	for err == nil { // events (presence...) may come first
		_, _, err = ws.ReadMessage()
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || ce.Text != "server shutting down" {
		t.Fatalf("want close 1001 'server shutting down', got %v", err)
	}
	if err := <-ta.done; err != nil {
		t.Fatalf("run returned %v", err)
	}
	close(ta.done)
	if _, err := http.Get(ta.base + "/healthz"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestRunCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, nil, &out, &errb, nil); code != 0 || !strings.Contains(out.String(), "crmphone") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	if code := run(context.Background(), []string{"bogus"}, nil, &out, &errb, nil); code != 2 {
		t.Fatalf("unknown command exit = %d", code)
	}
	errb.Reset()
	env := []string{"CRMPHONE_HTTP_LISTEN=bad"}
	if code := run(context.Background(), []string{"serve"}, nil, &out, &errb, env); code != 1 || !strings.Contains(errb.String(), "http.listen") {
		t.Fatalf("invalid config: exit %d, %q", code, errb.String())
	}

	cfgFile := filepath.Join(t.TempDir(), "c.yaml")
	writeYAML(t, cfgFile, "tokens:\n  keys:\n    - {prefix: CRM, id: k1, format: v2, secret_hex: "+testV2Key+"}\n    - {prefix: WCS, format: legacy, secret_hex: "+testLegacyKey+"}\n")
	for _, key := range []string{"CRM.k1", "WCS"} {
		out.Reset()
		errb.Reset()
		if code := run(context.Background(), []string{"token", "mint", "-config", cfgFile, "-key", key, "-operator", "op-9", "-name", "Eve", "-ttl", "1m", "-sip-domain", "pbx.example.com"}, nil, &out, &errb, nil); code != 0 {
			t.Fatalf("mint %s: %d %s", key, code, errb.String())
		}
		tok := strings.TrimSpace(out.String())
		out.Reset()
		if code := run(context.Background(), []string{"token", "inspect", "-config", cfgFile}, strings.NewReader(tok), &out, &errb, nil); code != 0 ||
			!strings.Contains(out.String(), "operator=op-9") {
			t.Fatalf("inspect %s: %d %q %q", key, code, out.String(), errb.String())
		}
	}
	errb.Reset()
	if code := run(context.Background(), []string{"token", "inspect", "-config", cfgFile, "CRM.k1:AAAA"}, nil, &out, &errb, nil); code != 1 || !strings.Contains(errb.String(), "malformed") {
		t.Fatalf("inspect bad token: %d %q", code, errb.String())
	}
}
