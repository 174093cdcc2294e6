// Package web serves the browser side of crmphone: the JS SDK (/sdk/crmphone.js) that CRM pages
// import, and the operator softphone page (/phone/) built on it. The files are embedded in the binary.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed static
var staticFS embed.FS

// Static is the embedded file tree (sdk/, phone/), for callers that serve it some other way.
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the folder
	}
	return sub
}

// Routes served by Register.
const (
	SDKPath   = "/sdk/crmphone.js"
	PhonePath = "/phone/"
)

type asset struct {
	body        []byte
	contentType string
	etag        string
}

type options struct {
	frameAncestors []string
}

// Option adjusts what Register serves.
type Option func(*options)

// FrameAncestors lets the listed origins (e.g. the CRM's, "https://crm.example.com") embed the softphone page
// in an iframe; by default only crmphone's own pages may (clickjacking protection). Values that are not plain
// scheme://host[:port] origins are ignored so that configuration cannot inject policy directives.
func FrameAncestors(origins ...string) Option {
	return func(o *options) {
		for _, origin := range origins {
			if originRE.MatchString(origin) {
				o.frameAncestors = append(o.frameAncestors, strings.TrimRight(origin, "/"))
			}
		}
	}
}

var (
	originRE = regexp.MustCompile(`^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?/?$`)
	hostRE   = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)
)

// Register adds the SDK, the softphone page and the redirect of / to the page.
func Register(e *echo.Echo, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	files := Static()
	sdk := mustAsset(files, "sdk/crmphone.js")
	phone := map[string]asset{}
	entries, err := fs.ReadDir(files, "phone")
	if err != nil {
		panic(fmt.Errorf("web: embedded phone folder: %w", err))
	}
	for _, ent := range entries {
		if !ent.IsDir() {
			phone[ent.Name()] = mustAsset(files, "phone/"+ent.Name())
		}
	}

	e.GET(SDKPath, func(c echo.Context) error {
		h := c.Response().Header()
		// CRM pages on other origins import the module, which needs CORS; it is a public file, no credentials.
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		return serve(c, sdk)
	})
	e.GET(strings.TrimSuffix(PhonePath, "/"), func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, PhonePath)
	})
	e.GET(PhonePath+"*", func(c echo.Context) error {
		name := c.Param("*")
		if name == "" {
			name = "index.html"
		}
		a, ok := phone[name]
		if !ok || strings.Contains(name, "/") {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		setPageHeaders(c, o)
		return serve(c, a)
	})
	e.GET("/", func(c echo.Context) error {
		// Browsers carry the #token=... fragment over to the redirect target.
		return c.Redirect(http.StatusFound, PhonePath)
	})
}

func mustAsset(files fs.FS, name string) asset {
	body, err := fs.ReadFile(files, name)
	if err != nil {
		panic(fmt.Errorf("web: embedded %s: %w", name, err))
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // do not depend on the host's mime tables
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	return asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

func serve(c echo.Context, a asset) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-cache") // revalidate every time: an upgraded controller serves the new SDK at once
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, a.contentType, a.body)
}

// setPageHeaders locks the page down: only its own scripts and styles, no inline script, websocket only to
// this server, no referrer (the login token lives in the fragment; never sent, but leave nothing to chance).
func setPageHeaders(c echo.Context, o options) {
	connect := "'self'"
	if host := c.Request().Host; hostRE.MatchString(host) {
		// 'self' covers ws(s) to the same host in current browsers; older ones need it spelled out.
		connect += " ws://" + host + " wss://" + host
	}
	ancestors := "'self'"
	if len(o.frameAncestors) > 0 {
		ancestors += " " + strings.Join(o.frameAncestors, " ")
	}
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"media-src 'self' blob: mediastream:",
		"connect-src " + connect,
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors " + ancestors,
	}, "; ")
	c.Response().Header().Set("Content-Security-Policy", csp)
}
