// Package crmlookup asks the CRM who is calling: GET <url with {number}>,
// answered with the client's card. A short timeout and a small cache keep a
// slow CRM from hurting call handling; the answer is untrusted input.
package crmlookup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Card is the client card shown with an incoming call.
type Card struct {
	Name   string            `json:"name,omitempty"`
	Title  string            `json:"title,omitempty"`
	URL    string            `json:"url,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
}

// ErrNotFound means the CRM does not know the number (HTTP 404).
var ErrNotFound = errors.New("crmlookup: number not known to the CRM")

// Client looks numbers up. A nil *Client finds nothing.
type Client struct {
	urlTemplate string
	timeout     time.Duration
	ttl         time.Duration
	http        *http.Client
	now         func() time.Time

	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	card    *Card
	err     error
	expires time.Time
}

// New returns a client for urlTemplate ("https://crm/api/lookup?phone={number}").
func New(urlTemplate string, timeout, ttl time.Duration) *Client {
	return &Client{urlTemplate: urlTemplate, timeout: timeout, ttl: ttl, http: &http.Client{Timeout: timeout},
		now: time.Now, cache: map[string]entry{}}
}

const maxCacheEntries = 10000

// Lookup returns the card for number (cached for the TTL, misses included).
func (c *Client) Lookup(ctx context.Context, number string) (*Card, error) {
	if c == nil || c.urlTemplate == "" {
		return nil, ErrNotFound
	}
	c.mu.Lock()
	if e, ok := c.cache[number]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.card, e.err
	}
	c.mu.Unlock()
	card, err := c.fetch(ctx, number)
	if err == nil || errors.Is(err, ErrNotFound) {
		c.mu.Lock()
		if len(c.cache) >= maxCacheEntries {
			c.cache = map[string]entry{} // crude but bounded: a full cache starts over
		}
		c.cache[number] = entry{card: card, err: err, expires: c.now().Add(c.ttl)}
		c.mu.Unlock()
	}
	return card, err
}

func (c *Client) fetch(ctx context.Context, number string) (*Card, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := strings.ReplaceAll(c.urlTemplate, "{number}", url.QueryEscape(number))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("crmlookup: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("crmlookup: request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, ErrNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("crmlookup: CRM answered %d", resp.StatusCode)
	}
	var card Card
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&card); err != nil {
		return nil, fmt.Errorf("crmlookup: CRM answer is not a card: %w", err)
	}
	return Sanitize(&card), nil
}

// Sanitize bounds a card's strings and drops a URL that is not http(s), so
// the card is safe to hand to browsers (which still show it as text).
func Sanitize(c *Card) *Card {
	out := &Card{Name: Clean(c.Name, 128), Title: Clean(c.Title, 128)}
	if u, err := url.Parse(c.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(c.URL) <= 2048 {
		out.URL = c.URL
	}
	if len(c.Fields) > 0 {
		out.Fields = map[string]string{}
		n := 0
		for k, v := range c.Fields {
			if n == 12 {
				break
			}
			if k = Clean(k, 64); k != "" {
				out.Fields[k] = Clean(v, 256)
				n++
			}
		}
	}
	return out
}

// Clean drops control characters and invalid UTF-8 and cuts s to max runes.
func Clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			continue
		}
		if n == max {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
