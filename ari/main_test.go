package ari

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// transcriptDir is where CI checks out the shared Asterisk reference, beside the repository.
const transcriptDir = "../../shared/asterisk-reference/transcripts"

// transcriptLine is one JSON line of a transcript (only the fields the tests use).
type transcriptLine struct {
	Seq         int             `json:"seq"`
	Kind        string          `json:"kind"`
	Method      string          `json:"method"`
	Path        string          `json:"path"`
	RequestBody json.RawMessage `json:"request_body"`
	Status      int             `json:"status"`
	Response    json.RawMessage `json:"response"`
	ContentType string          `json:"response_content_type"`
	Event       json.RawMessage `json:"event"`
}

// loadTranscript reads one transcript (skipping the header line) or skips the test if the shared
// reference is not checked out.
func loadTranscript(t testing.TB, name string) []transcriptLine {
	t.Helper()
	f, err := os.Open(filepath.Join(transcriptDir, name))
	if os.IsNotExist(err) {
		t.Skipf("transcript %s not available (expected shared/ beside the repo): %v", name, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []transcriptLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		var l transcriptLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func transcriptNames(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(transcriptDir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Skipf("no transcripts in %s (expected shared/ beside the repo)", transcriptDir)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// findHTTP returns the first http line with method and exact path (query included).
func findHTTP(t testing.TB, lines []transcriptLine, method, path string) transcriptLine {
	t.Helper()
	for _, l := range lines {
		if l.Kind == "http" && l.Method == method && l.Path == path {
			return l
		}
	}
	t.Fatalf("transcript has no %s %s", method, path)
	return transcriptLine{}
}

// findHTTPError returns the first http line with method and exact path that failed (status >= 400).
func findHTTPError(t testing.TB, lines []transcriptLine, method, path string) transcriptLine {
	t.Helper()
	for _, l := range lines {
		if l.Kind == "http" && l.Method == method && l.Path == path && l.Status >= 400 {
			return l
		}
	}
	t.Fatalf("transcript has no failed %s %s", method, path)
	return transcriptLine{}
}
