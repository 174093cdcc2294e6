package api

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/crmphone/crmphone/controller/store"
)

// DefaultLimit is the page size when the client gives none.
const DefaultLimit = 50

var (
	directions = map[string]bool{"inbound": true, "outbound": true}
	states     = map[string]bool{"dialing": true, "ringing": true, "early_media": true, "answered": true, "ended": true}
)

// parseCallFilter reads GET /calls' query; fields maps each invalid
// parameter to what it must be.
func parseCallFilter(q url.Values) (store.CallPageFilter, map[string]string) {
	f := store.CallPageFilter{Limit: DefaultLimit}
	fields := map[string]string{}
	text := func(name string, max int) string {
		v := q.Get(name)
		if len(v) > max {
			fields[name] = "must be at most " + strconv.Itoa(max) + " characters"
		}
		return v
	}
	f.OperatorID = text("operator_id", 128)
	f.Cause = text("cause", 64)
	if v := q.Get("direction"); v != "" {
		if !directions[v] {
			fields["direction"] = "must be inbound or outbound"
		}
		f.Direction = v
	}
	if v := q.Get("state"); v != "" {
		if !states[v] {
			fields["state"] = "must be one of dialing, ringing, early_media, answered, ended"
		}
		f.State = v
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxCallPage {
			fields["limit"] = "must be 1.." + strconv.Itoa(store.MaxCallPage)
		}
		f.Limit = n
	}
	when := func(name string) time.Time {
		v := q.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			fields[name] = "must be RFC3339, e.g. 2026-01-31T09:00:00Z"
		}
		return t
	}
	f.From, f.To = when("from"), when("to")
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		fields["to"] = "must be after from"
	}
	if v := q.Get("cursor"); v != "" {
		cur, ok := decodeCursor(v)
		if !ok {
			fields["cursor"] = "must be a next_cursor returned by this endpoint"
		}
		f.After = &cur
	}
	if len(fields) == 0 {
		fields = nil
	}
	return f, fields
}

// cursorJSON is the content of an opaque cursor: the last call of the page.
type cursorJSON struct {
	CreatedAtMS int64  `json:"t"`
	ID          string `json:"id"`
}

func encodeCursor(c store.CallCursor) string {
	b, _ := json.Marshal(cursorJSON{CreatedAtMS: c.CreatedAt.UnixMilli(), ID: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (store.CallCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.CallCursor{}, false
	}
	var c cursorJSON
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" || c.CreatedAtMS <= 0 {
		return store.CallCursor{}, false
	}
	return store.CallCursor{CreatedAt: time.UnixMilli(c.CreatedAtMS), ID: c.ID}, true
}
