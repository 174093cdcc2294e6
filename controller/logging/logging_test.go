package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestRedactsSecretAttributes(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := New(&buf, "debug", format)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("x", "sip_password", "hunter2", "token", "CRM.k1:abc", "ari_password", "pw1",
			"api_key", "ak", "operator", "op-1")
		log.With("Authorization", "Basic Zm9v").Info("y")
		out := buf.String()
		for _, secret := range []string{"hunter2", "CRM.k1:abc", "pw1", "ak\"", "Zm9v"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: secret %q in log: %s", format, secret, out)
			}
		}
		if !strings.Contains(out, "op-1") || !strings.Contains(out, Redacted) {
			t.Errorf("%s: ordinary attributes must stay: %s", format, out)
		}
	}
	if _, err := New(&bytes.Buffer{}, "loud", "text"); err == nil {
		t.Fatal("bad level accepted")
	}
}
