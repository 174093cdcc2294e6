package tokens

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// readmeSnippets returns the fenced code blocks of README.md that follow a
// "<!-- snippet: NAME -->" line, by NAME.
func readmeSnippets(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	snippets := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(doc))
	var name string
	var body *strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case body != nil && line == "```":
			snippets[name], body, name = body.String(), nil, ""
		case body != nil:
			body.WriteString(line + "\n")
		case strings.HasPrefix(line, "<!-- snippet: "):
			name = strings.TrimSuffix(strings.TrimPrefix(line, "<!-- snippet: "), " -->")
		case name != "" && strings.HasPrefix(line, "```"):
			body = &strings.Builder{}
		}
	}
	return snippets
}

// TestREADMESnippets runs every minting snippet of README.md with the real
// interpreter and verifies the token it prints, so the documentation cannot
// drift from the verifier.
func TestREADMESnippets(t *testing.T) {
	snippets := readmeSnippets(t)
	legacyXML := fmt.Sprintf("<token><sip_login>1001</sip_login><sip_auth_name>1001</sip_auth_name><sip_password>secret</sip_password>"+
		"<sip_domain>pbx.example.com</sip_domain><sip_outbound_proxy>10.0.0.5</sip_outbound_proxy><sip_port>5060</sip_port>"+
		"<expires>%d</expires><operator_id>op-17</operator_id><display_name>Ann</display_name></token>", time.Now().Add(5*time.Minute).UnixMilli())

	tests := []struct {
		name, file string
		command    []string
		available  func() string // "" when the tool is there, else why the test skips
		legacy     bool
	}{
		{"v2-node", "mint.js", []string{"node"}, lookPath("node"), false},
		{"v2-python", "mint.py", []string{"python3"}, pythonCryptography, false},
		{"v2-php", "mint.php", []string{"php"}, lookPath("php"), false},
		{"v2-go", "main.go", []string{"go", "run"}, goRun, false},
		{"legacy-php", "mint.php", []string{"php"}, lookPath("php"), true},
		{"legacy-sh", "mint.sh", []string{"sh"}, lookPath("openssl"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, ok := snippets[tc.name]
			if !ok {
				t.Fatalf("README.md has no snippet %q", tc.name)
			}
			if why := tc.available(); why != "" {
				t.Skip(why)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // only against hangs
			defer cancel()
			cmd := exec.CommandContext(ctx, tc.command[0], append(tc.command[1:], path)...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CRM_TOKEN_KEY="+hexK1, "CRM_LEGACY_KEY="+hexLegacy, "XML="+legacyXML)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s", tc.command[0], err, stderr.String())
			}
			token := strings.TrimSpace(string(out))
			t.Logf("%s minted a %d-byte token starting %q", tc.name, len(token), token[:min(8, len(token))])

			now := time.Now()
			c, err := newVerifier(t, standardKeyringWithK1Legacy(t), &now).Verify(context.Background(), token)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			wantSIP := &SIPIdentity{Login: "1001", AuthName: "1001", Password: "secret", Domain: "pbx.example.com", OutboundProxy: "10.0.0.5", Port: 5060}
			if c.OperatorID != "op-17" || c.DisplayName != "Ann" || !reflect.DeepEqual(c.SIP, wantSIP) {
				t.Fatalf("claims %v sip %+v", c, c.SIP)
			}
			if d := c.ExpiresAt.Sub(now); d < 4*time.Minute || d > 6*time.Minute {
				t.Fatalf("expiry %v from now, the snippet sets 5 minutes", d)
			}
			if tc.legacy {
				if c.Format != FormatLegacy {
					t.Fatalf("format %s", c.Format)
				}
				return
			}
			if c.KeyName != "CRM.k1" || len(c.TokenID) != 32 || c.ExpiresAt.Sub(c.IssuedAt) != 5*time.Minute ||
				!reflect.DeepEqual(c.DialPatterns, []string{"_8XXXXXXXXXX", "_+7."}) {
				t.Fatalf("v2 claims %v", c)
			}
		})
	}
}

// standardKeyringWithK1Legacy verifies what the snippets mint: CRM.k1 (v2) and WCS (legacy).
func standardKeyringWithK1Legacy(t *testing.T) *Keyring {
	return mustKeyring(t, v2KeyFor(t, "CRM", "k1", hexK1), legacyKeyFor(t, "WCS", hexLegacy))
}

func lookPath(tool string) func() string {
	return func() string {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not installed: cannot run this README snippet"
		}
		return ""
	}
}

func pythonCryptography() string {
	if why := lookPath("python3")(); why != "" {
		return why
	}
	if err := exec.Command("python3", "-c", "import cryptography").Run(); err != nil {
		return "python3 has no cryptography module (pip install cryptography)"
	}
	return ""
}

func goRun() string {
	if testing.Short() {
		return "-short: not compiling the Go snippet"
	}
	return lookPath("go")()
}
