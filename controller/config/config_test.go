package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const validKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "crmphone.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.ARI.URL != "http://127.0.0.1:8088" || cfg.Redis.URL != "" {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
}

func TestExampleFileLoads(t *testing.T) {
	cfg, err := Load("../../crmphone.example.yaml", nil)
	if err != nil {
		t.Fatalf("crmphone.example.yaml: %v", err)
	}
	if len(cfg.Tokens.Keys) == 0 {
		t.Fatal("example should document at least one token key")
	}
}

func TestEnvOverrides(t *testing.T) {
	p := writeFile(t, "http:\n  listen: 127.0.0.1:9000\n")
	cfg, err := Load(p, []string{
		"CRMPHONE_HTTP_LISTEN=127.0.0.1:9999",
		"CRMPHONE_ARI_PASSWORD=s3cret",
		"CRMPHONE_HTTP_ALLOWED_ORIGINS=https://crm.example.com, https://b.example.com",
		"CRMPHONE_SIGNALING_LOGIN_TIMEOUT=3s",
		"CRMPHONE_MEDIA_ICE_LITE=true",
		"UNRELATED=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:9999" || cfg.ARI.Password != "s3cret" || !cfg.Media.ICELite ||
		cfg.Signaling.LoginTimeout != 3*time.Second || len(cfg.HTTP.AllowedOrigins) != 2 ||
		cfg.HTTP.AllowedOrigins[1] != "https://b.example.com" {
		t.Fatalf("overrides not applied: %+v", cfg)
	}
}

func TestInvalidConfigNamesTheKey(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        []string
		key        string
	}{
		{"listen", "http:\n  listen: nonsense\n", nil, "http.listen"},
		{"origin", "http:\n  allowed_origins: [\"crm.example.com\"]\n", nil, "http.allowed_origins[0]"},
		{"ari url", "ari:\n  url: ftp://x\n", nil, "ari.url"},
		{"redis url", "redis:\n  url: http://x\n", nil, "redis.url"},
		{"key format", "tokens:\n  keys:\n    - {prefix: CRM, id: k1, format: rot13, secret_hex: " + validKey + "}\n", nil, "tokens.keys[0].format"},
		{"key length", "tokens:\n  keys:\n    - {prefix: CRM, id: k1, format: v2, secret_hex: 0011}\n", nil, "tokens.keys[0]"},
		{"key hex", "tokens:\n  keys:\n    - {prefix: CRM, format: legacy, secret_hex: zz}\n", nil, "tokens.keys[0]"},
		{"v2 id", "tokens:\n  keys:\n    - {prefix: CRM, format: v2, secret_hex: " + validKey + "}\n", nil, "tokens.keys[0].id"},
		{"legacy with id", "tokens:\n  keys:\n    - {prefix: WCS, id: x, format: legacy, secret_hex: 00112233445566778899aabbccddeeff}\n", nil, "tokens.keys[0].id"},
		{"prefix chars", "tokens:\n  keys:\n    - {prefix: \"C:M\", id: k1, format: v2, secret_hex: " + validKey + "}\n", nil, "tokens.keys[0].prefix"},
		{"env duration", "", []string{"CRMPHONE_HTTP_SHUTDOWN_TIMEOUT=soon"}, "http.shutdown_timeout"},
		{"env int", "", []string{"CRMPHONE_MEDIA_UDP_PORT=abc"}, "media.udp_port"},
		{"port range", "media:\n  udp_port: 70000\n", nil, "media.udp_port"},
		{"log level", "log:\n  level: chatty\n", nil, "log.level"},
		{"rtp ip", "media:\n  rtp_bind_ip: localhost\n", nil, "media.rtp_bind_ip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.yaml), tt.env)
			var cerr *Error
			if !errors.As(err, &cerr) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("want *config.Error, got %v", err)
			}
			if cerr.Key != tt.key {
				t.Fatalf("key = %q, want %q (%v)", cerr.Key, tt.key, err)
			}
		})
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	_, err := Load(writeFile(t, "http:\n  lisen: 127.0.0.1:1\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}

func TestSecretNeverInError(t *testing.T) {
	bad := strings.Repeat("ab", 20) // valid hex, wrong length
	_, err := Load(writeFile(t, "tokens:\n  keys:\n    - {prefix: CRM, id: k1, format: v2, secret_hex: "+bad+"}\n"), nil)
	if err == nil || strings.Contains(err.Error(), bad) {
		t.Fatalf("error must exist and not contain the secret: %v", err)
	}
}

func TestSecretFile(t *testing.T) {
	kf := filepath.Join(t.TempDir(), "k1.hex")
	if err := os.WriteFile(kf, []byte(validKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(writeFile(t, "tokens:\n  keys:\n    - {prefix: CRM, id: k1, format: v2, secret_file: "+kf+"}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cfg.Tokens.Keys[0].Secret()
	if err != nil || len(b) != 32 {
		t.Fatalf("secret: %v len %d", err, len(b))
	}
}
