package web_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"go.uber.org/goleak"

	"github.com/crmphone/crmphone/ui/web"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, e *echo.Echo, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = "phone.example.com:8080"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestRoutes(t *testing.T) {
	e := echo.New()
	web.Register(e, web.FrameAncestors("https://crm.example.com", "https://evil.example.com; script-src *"))
	tests := []struct {
		path, status, contentType, location, body string
	}{
		{"/sdk/crmphone.js", "200", "text/javascript; charset=utf-8", "", "export async function connect("},
		{"/phone/", "200", "text/html; charset=utf-8", "", `id="number"`},
		{"/phone/index.html", "200", "text/html; charset=utf-8", "", `<script type="module" src="phone.js">`},
		{"/phone/phone.js", "200", "text/javascript; charset=utf-8", "", "from '../sdk/crmphone.js'"},
		{"/phone/phone.css", "200", "text/css; charset=utf-8", "", ":focus-visible"},
		{"/phone", "301", "", "/phone/", ""},
		{"/", "302", "", "/phone/", ""},
		{"/phone/missing.js", "404", "", "", ""},
		{"/phone/../sdk/crmphone.js", "404", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			rec := get(t, e, tc.path, nil)
			if strconv.Itoa(rec.Code) != tc.status {
				t.Fatalf("status = %d, want %s", rec.Code, tc.status)
			}
			if tc.contentType != "" && rec.Header().Get("Content-Type") != tc.contentType {
				t.Fatalf("content type = %q", rec.Header().Get("Content-Type"))
			}
			if tc.location != "" && rec.Header().Get("Location") != tc.location {
				t.Fatalf("location = %q", rec.Header().Get("Location"))
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Fatalf("body lacks %q", tc.body)
			}
			if rec.Code == 200 {
				if rec.Header().Get("Cache-Control") != "no-cache" || rec.Header().Get("X-Content-Type-Options") != "nosniff" ||
					rec.Header().Get("Referrer-Policy") != "no-referrer" {
					t.Fatalf("headers = %v", rec.Header())
				}
			}
		})
	}
}

func TestPageSecurityHeaders(t *testing.T) {
	e := echo.New()
	web.Register(e, web.FrameAncestors("https://crm.example.com", "https://evil.example.com; script-src *"))
	csp := get(t, e, "/phone/", nil).Header().Get("Content-Security-Policy")
	for _, want := range []string{
		"default-src 'none'", "script-src 'self';", "connect-src 'self' ws://phone.example.com:8080 wss://phone.example.com:8080",
		"frame-ancestors 'self' https://crm.example.com", "base-uri 'none'",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "evil") || strings.Contains(csp, "script-src *") {
		t.Errorf("CSP allows too much: %q", csp)
	}

	// A Host header that would inject directives is left out of connect-src.
	req := httptest.NewRequest(http.MethodGet, "/phone/", nil)
	req.Host = "x; script-src *"
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if got := rec.Header().Get("Content-Security-Policy"); strings.Contains(got, "script-src *") || !strings.Contains(got, "connect-src 'self';") {
		t.Errorf("CSP with a hostile Host: %q", got)
	}
}

func TestSDKIsImportableCrossOriginAndRevalidates(t *testing.T) {
	e := echo.New()
	web.Register(e)
	rec := get(t, e, "/sdk/crmphone.js", map[string]string{"Origin": "https://crm.example.com"})
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("a CRM page on another origin cannot import the module: %v", rec.Header())
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if rec := get(t, e, "/sdk/crmphone.js", map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("revalidation: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// The page must never put strings into the DOM as HTML.
func TestPageUsesNoInnerHTML(t *testing.T) {
	for _, name := range []string{"phone/phone.js", "sdk/crmphone.js"} {
		b, err := readStatic(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(b, bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}

func readStatic(name string) (string, error) {
	b, err := fs.ReadFile(web.Static(), name)
	return string(b), err
}
