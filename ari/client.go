package ari

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxJSONBody bounds a decoded REST response (GET /channels on a busy system is the largest).
const maxJSONBody = 32 << 20

// Client talks to one Asterisk over ARI: typed REST calls plus the events websocket of one
// Stasis application (see Run and Subscribe). It is safe for concurrent use.
type Client struct {
	cfg        Config
	base       string // scheme://host:port/ari, no trailing slash
	authHeader string
	httpc      *http.Client
	ownedTr    *http.Transport // closed by Close when we created it

	disp *dispatcher

	mu        sync.Mutex
	state     ConnState
	closed    bool
	closeCh   chan struct{}
	runCancel context.CancelFunc
	running   bool
}

// New validates cfg and returns a Client. It does not contact Asterisk; call Ping or Run for that.
func New(cfg Config) (*Client, error) {
	cfg.applyDefaults()
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("ari: BaseURL %q must be http(s)://host:port", cfg.BaseURL)
	}
	if u.User != nil {
		return nil, errors.New("ari: BaseURL must not contain credentials; use Username/Password")
	}
	if cfg.Username == "" {
		return nil, errors.New("ari: Username is required")
	}
	base := strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
	if !strings.HasSuffix(base, "/ari") {
		base += "/ari"
	}
	c := &Client{
		cfg:     cfg,
		base:    base,
		closeCh: make(chan struct{}),
		disp:    newDispatcher(),
	}
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(cfg.Username, cfg.Password)
	c.authHeader = req.Header.Get("Authorization")
	if cfg.HTTPClient != nil {
		c.httpc = cfg.HTTPClient
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32 // many concurrent calls hit one Asterisk; the default 2 churns connections
		c.ownedTr = tr
		c.httpc = &http.Client{Transport: tr}
	}
	return c, nil
}

// String identifies the client without credentials.
func (c *Client) String() string { return "ari.Client{" + c.base + " app=" + c.cfg.Application + "}" }

// GoString keeps %#v from dumping the configuration.
func (c *Client) GoString() string { return c.String() }

// Application returns the configured Stasis application name.
func (c *Client) Application() string { return c.cfg.Application }

// Close stops Run (if running), closes every subscription and idle HTTP connections.
// REST calls after Close fail with ErrClosed. Close is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closeCh)
	if c.runCancel != nil {
		c.runCancel()
	}
	c.mu.Unlock()
	c.disp.closeAll(ErrClosed)
	if c.ownedTr != nil {
		c.ownedTr.CloseIdleConnections()
	}
	return nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// path joins segments after /ari, escaping each one so that "crm/x" becomes "crm%2Fx".
// Asterisk answers 404 for a raw slash inside a recording name.
func path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// query is a small builder that skips zero values, so optional ARI parameters are only sent when set.
type query url.Values

func (q query) str(k, v string) query {
	if v != "" {
		url.Values(q).Set(k, v)
	}
	return q
}

func (q query) list(k string, v []string) query {
	if len(v) > 0 {
		url.Values(q).Set(k, strings.Join(v, ","))
	}
	return q
}

func (q query) num(k string, v int64) query {
	if v != 0 {
		url.Values(q).Set(k, strconv.FormatInt(v, 10))
	}
	return q
}

func (q query) flag(k string, v bool) query {
	if v {
		url.Values(q).Set(k, "true")
	}
	return q
}

// queryUnescaper undoes the escaping of characters that are legal in a query value and that ARI
// expects literally: lists are comma-separated (channel=a,b), endpoints contain "/" and hosts ":".
// A space becomes %20 rather than "+", which every decoder reads as a space.
var queryUnescaper = strings.NewReplacer("+", "%20", "%2C", ",", "%2F", "/", "%3A", ":", "%40", "@")

// encode is url.Values.Encode (sorted keys) with queryUnescaper applied to every key and value.
func (q query) encode() string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(queryUnescaper.Replace(url.QueryEscape(k)))
			b.WriteByte('=')
			b.WriteString(queryUnescaper.Replace(url.QueryEscape(v)))
		}
	}
	return b.String()
}

// variablesBody is the request body ARI uses to set channel/bridge variables on creation.
type variablesBody struct {
	Variables map[string]string `json:"variables"`
}

func varsBody(v map[string]string) any {
	if len(v) == 0 {
		return nil
	}
	return variablesBody{Variables: v}
}

// newRequest builds a request for an already escaped path. The URL is parsed from the escaped
// string so that net/url records RawPath and keeps %2F escaped on the wire.
func (c *Client) newRequest(ctx context.Context, method, escapedPath string, q query, body any) (*http.Request, error) {
	raw := c.base + escapedPath
	if len(q) > 0 {
		raw += "?" + q.encode()
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("ari: %s %s: bad URL: %w", method, escapedPath, err)
	}
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("ari: %s %s: encode body: %w", method, escapedPath, err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, "", rd)
	if err != nil {
		return nil, fmt.Errorf("ari: %s %s: %w", method, escapedPath, err)
	}
	req.URL = u
	req.Host = u.Host
	req.Header.Set("Authorization", c.authHeader)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do performs one REST call with a deadline (ctx or RequestTimeout, whichever is earlier) and
// decodes a JSON response into out when out is non-nil.
func (c *Client) do(ctx context.Context, method, escapedPath string, q query, body, out any) error {
	if c.isClosed() {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, method, escapedPath, q, body)
	if err != nil {
		return err
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		return c.transportError(ctx, method, escapedPath, err)
	}
	defer resp.Body.Close()
	if err := c.statusError(resp, method, escapedPath); err != nil {
		return err
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSONBody)).Decode(out); err != nil {
		if ctx.Err() != nil {
			return c.transportError(ctx, method, escapedPath, err)
		}
		return fmt.Errorf("ari: %s %s: decode response: %w", method, escapedPath, err)
	}
	return nil
}

// transportError classifies a failure with no HTTP status. The caller's own cancellation is
// reported as such; everything else (refused, reset, RequestTimeout) wraps ErrUnavailable.
// *url.Error is unwrapped because its text contains the full URL with the query.
func (c *Client) transportError(ctx context.Context, method, escapedPath string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.DeadlineExceeded) {
		return fmt.Errorf("ari: %s %s: %w", method, escapedPath, cause)
	}
	var nerr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout()) {
		return fmt.Errorf("ari: %s %s: %w: timeout: %w", method, escapedPath, ErrUnavailable, context.DeadlineExceeded)
	}
	return fmt.Errorf("ari: %s %s: %w: %w", method, escapedPath, ErrUnavailable, err)
}

// statusError converts a non-2xx response into *Error, reading Asterisk's {"message": ...}.
func (c *Client) statusError(resp *http.Response, method, escapedPath string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &Error{Status: resp.StatusCode, Method: method, Path: c.basePath() + escapedPath}
	var m struct {
		Message string `json:"message"`
	}
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(buf, &m) == nil {
		e.Message = m.Message
	}
	return e
}

// basePath is the path part of base ("/ari"), so Error.Path shows what went on the wire.
func (c *Client) basePath() string {
	if i := strings.Index(c.base, "://"); i >= 0 {
		if j := strings.IndexByte(c.base[i+3:], '/'); j >= 0 {
			return c.base[i+3+j:]
		}
	}
	return ""
}

// Download is a streamed binary response (a stored recording). The caller must Close Body.
type Download struct {
	Body          io.ReadCloser
	ContentType   string // e.g. audio/wav, audio/raw
	ContentLength int64  // -1 when unknown
}

// cancelOnClose releases the request context when the body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// stream performs a GET whose body is handed to the caller. RequestTimeout bounds the wait for the
// response headers only; afterwards the caller's ctx governs reading the body.
func (c *Client) stream(ctx context.Context, escapedPath string) (*Download, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(c.cfg.RequestTimeout, func() { cancel(context.DeadlineExceeded) })
	req, err := c.newRequest(ctx, http.MethodGet, escapedPath, nil, nil)
	if err != nil {
		timer.Stop()
		cancel(nil)
		return nil, err
	}
	req.Header.Set("Accept", "*/*")
	resp, err := c.httpc.Do(req)
	if !timer.Stop() && err == nil {
		// The timer fired while the headers arrived: the context is already cancelled.
		resp.Body.Close()
		cancel(nil)
		return nil, fmt.Errorf("ari: GET %s: %w: timeout: %w", escapedPath, ErrUnavailable, context.DeadlineExceeded)
	}
	if err != nil {
		err = c.transportError(ctx, http.MethodGet, escapedPath, err)
		cancel(nil)
		return nil, err
	}
	if err := c.statusError(resp, http.MethodGet, escapedPath); err != nil {
		resp.Body.Close()
		cancel(nil)
		return nil, err
	}
	return &Download{
		Body:          cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }},
		ContentType:   resp.Header.Get("Content-Type"),
		ContentLength: resp.ContentLength,
	}, nil
}
