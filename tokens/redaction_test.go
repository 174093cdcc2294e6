package tokens

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestClaimsNeverShowPassword(t *testing.T) {
	c := sampleClaims()
	c.KeyName = "CRM.k1"
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("value", "claims", c)
	log.Info("pointer", "claims", &c)
	log.Info("sip", "sip", c.SIP, "password", c.SIP.Password)
	jsonOut, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"String":     c.String(),
		"%v value":   fmt.Sprintf("%v", c),
		"%+v ptr":    fmt.Sprintf("%+v", &c),
		"%#v value":  fmt.Sprintf("%#v", c),
		"%v sip":     fmt.Sprintf("%v %+v %s", c.SIP, *c.SIP, c.SIP.Password),
		"%#v sip":    fmt.Sprintf("%#v", *c.SIP),
		"%x secret":  fmt.Sprintf("%x %q", c.SIP.Password, c.SIP.Password),
		"slog JSON":  logged.String(),
		"json":       string(jsonOut),
		"text slice": fmt.Sprint([]Claims{c}),
	}
	for name, out := range outputs {
		if strings.Contains(out, password) || strings.Contains(out, hex.EncodeToString([]byte(password))) {
			t.Errorf("%s shows the password: %s", name, out)
		}
	}
	// And they still say something useful.
	for _, want := range []string{"op-17", "sip:1001@pbx.example.com", "CRM.k1"} {
		if !strings.Contains(c.String(), want) {
			t.Errorf("String() lacks %q: %s", want, c.String())
		}
	}
	if !strings.Contains(logged.String(), `"login":"1001"`) || !strings.Contains(logged.String(), `"password_set":true`) {
		t.Errorf("slog output lacks the SIP identity: %s", logged.String())
	}
}

func TestKeyNeverShowsSecret(t *testing.T) {
	k := v2KeyFor(t, "CRM", "k1", hexK1)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "key", k)
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", k), "%+v": fmt.Sprintf("%+v", k), "%#v": fmt.Sprintf("%#v", k),
		"slice": fmt.Sprint([]Key{k}), "slog": logged.String(),
	} {
		if strings.Contains(strings.ToLower(out), hexK1) || strings.Contains(out, string(k.Secret)) || strings.Contains(out, fmt.Sprint(k.Secret[:4])[1:8]) {
			t.Errorf("%s shows the secret: %s", name, out)
		}
		if !strings.Contains(out, "CRM.k1") {
			t.Errorf("%s does not name the key: %s", name, out)
		}
	}
}
