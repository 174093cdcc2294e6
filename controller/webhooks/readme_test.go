package webhooks

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSignKnownVector pins the signature format: the value was computed
// independently (Python's hmac module).
func TestSignKnownVector(t *testing.T) {
	got := Sign(testSecret, "1767225600", []byte(`{"id":"dlv_1","type":"call.offered"}`))
	if want := "v1=018a1231d6ca39f9ecfc92ff3b09371397630b7a34488418522f9a534e11f7f3"; got != want {
		t.Fatalf("Sign = %s; want %s", got, want)
	}
}

// readmeBlock returns the fenced code block of lang in README.md, cut before
// the first line starting with stopAt (the part that is not the function).
func readmeBlock(t *testing.T, lang, stopAt string) string {
	t.Helper()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "```"+lang+"\n")
	if !ok {
		t.Fatalf("README.md has no %s example", lang)
	}
	block, _, _ := strings.Cut(rest, "```")
	if stopAt != "" {
		if i := strings.Index(block, "\n"+stopAt); i >= 0 {
			block = block[:i+1]
		}
	}
	return block
}

// TestREADMEVerificationExamples runs the CRM-side examples of README.md on
// a request signed by the deliverer's code: the genuine one verifies, tampered
// ones do not.
func TestREADMEVerificationExamples(t *testing.T) {
	examples := []struct {
		lang, bin, pkg, file, stopAt, harness string
	}{
		{"php", "php", "php-cli", "v.php", "$body = file_get_contents",
			"var_export(crmphone_verify(getenv('S'), getenv('T'), getenv('B'), getenv('H')));\n"},
		{"python", "python3", "python3", "v.py", "",
			"import os\nprint(crmphone_verify(os.environb[b'S'], os.environ['T'], os.environb[b'B'], os.environ['H']))\n"},
		{"js", "node", "nodejs", "v.mjs", "",
			"console.log(crmphoneVerify(process.env.S, process.env.T, Buffer.from(process.env.B), process.env.H));\n"},
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	body := `{"id":"dlv_1","type":"call.ended","data":{"call_id":"c-1","duration_s":65}}`
	sig := Sign(testSecret, now, []byte(body))
	flipped := sig[:len(sig)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(sig, "0")]
	cases := []struct {
		name, ts, body, header string
		want                   bool
	}{
		{"genuine", now, body, sig, true},
		{"genuine among rotated", now, body, Sign([]byte("previous-secret-16b"), now, []byte(body)) + "," + sig, true},
		{"tampered body", now, strings.Replace(body, "65", "66", 1), sig, false},
		{"tampered signature", now, body, flipped, false},
		{"tampered timestamp", strconv.FormatInt(time.Now().Unix()-1, 10), body, sig, false},
		{"replayed after an hour", old, body, Sign(testSecret, old, []byte(body)), false},
		{"no signature", now, body, "", false},
	}
	for _, ex := range examples {
		t.Run(ex.lang, func(t *testing.T) {
			bin, err := exec.LookPath(ex.bin)
			if err != nil {
				t.Skipf("%s not installed (Debian package %s)", ex.bin, ex.pkg)
			}
			path := filepath.Join(t.TempDir(), ex.file)
			if err := os.WriteFile(path, []byte(readmeBlock(t, ex.lang, ex.stopAt)+"\n"+ex.harness), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, tc := range cases {
				cmd := exec.Command(bin, path)
				cmd.Env = append(os.Environ(), "S="+string(testSecret), "T="+tc.ts, "B="+tc.body, "H="+tc.header)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", tc.name, err, out)
				}
				if got := strings.ToLower(strings.TrimSpace(string(out))) == "true"; got != tc.want {
					t.Fatalf("%s: example says %s; want %v", tc.name, out, tc.want)
				}
				// The Go verifier agrees with the example.
				if goOK := Verify(testSecret, tc.ts, []byte(tc.body), tc.header, 5*time.Minute) == nil; goOK != tc.want {
					t.Fatalf("%s: Verify says %v; want %v", tc.name, goOK, tc.want)
				}
			}
		})
	}
}
