package tokens

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLegacyMintedByOpenSSL mints legacy tokens the way a Web Call Server
// integration does, with the openssl command line, and verifies them.
func TestLegacyMintedByOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed (apt-get install openssl): cannot mint legacy tokens with the real command line")
	}
	expires := t0.Add(time.Hour)
	record := fmt.Sprintf("<token><sip_login>1001</sip_login><sip_auth_name>1001a</sip_auth_name><sip_password>%s</sip_password>"+
		"<sip_domain>pbx.example.com</sip_domain><sip_outbound_proxy>10.0.0.5</sip_outbound_proxy><sip_port>5060</sip_port>"+
		"<expires>%d</expires><operator_id>op-17</operator_id><display_name>Ann</display_name></token>", password, expires.UnixMilli())

	for _, tc := range []struct{ cipher, keyHex string }{
		{"aes-128-ctr", hexLegacy},
		{"aes-192-ctr", "000102030405060708090a0b0c0d0e0f1011121314151617"},
		{"aes-256-ctr", hexK1},
	} {
		t.Run(tc.cipher, func(t *testing.T) {
			iv := make([]byte, 16)
			if _, err := rand.Read(iv); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(openssl, "enc", "-"+tc.cipher, "-K", tc.keyHex, "-iv", hex.EncodeToString(iv), "-nosalt")
			cmd.Stdin = strings.NewReader(record)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			ct, err := cmd.Output()
			if err != nil {
				t.Fatalf("openssl: %v: %s", err, stderr.String())
			}
			if len(ct) != len(record) {
				t.Fatalf("openssl wrote %d bytes for a %d-byte record (CTR has no padding)", len(ct), len(record))
			}
			for _, tok := range []string{
				"WCS:" + hex.EncodeToString(iv) + hex.EncodeToString(ct),
				"WCS:" + strings.ToUpper(hex.EncodeToString(iv)+hex.EncodeToString(ct)),
			} {
				now := t0
				v := newVerifier(t, mustKeyring(t, legacyKeyFor(t, "WCS", tc.keyHex)), &now)
				c, err := v.Verify(context.Background(), tok)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				s := c.SIP
				if c.OperatorID != "op-17" || c.DisplayName != "Ann" || s.Login != "1001" || s.AuthName != "1001a" ||
					s.Password.Reveal() != password || s.Domain != "pbx.example.com" || s.OutboundProxy != "10.0.0.5" ||
					s.Port != 5060 || !c.ExpiresAt.Equal(expires) {
					t.Fatalf("claims %v sip %+v", c, s)
				}
			}
		})
	}
}
