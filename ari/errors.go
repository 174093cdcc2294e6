package ari

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. An *Error returned for an HTTP status matches one or more of them with errors.Is.
var (
	ErrBadRequest   = errors.New("ari: bad request")   // 400
	ErrUnauthorized = errors.New("ari: unauthorized")  // 401
	ErrForbidden    = errors.New("ari: forbidden")     // 403 (e.g. sorcery object read-only / no memory wizard)
	ErrNotFound     = errors.New("ari: not found")     // 404
	ErrConflict     = errors.New("ari: conflict")      // 409
	ErrServer       = errors.New("ari: server error")  // 5xx
	ErrUnavailable  = errors.New("ari: unavailable")   // network failure, timeout, websocket down
	ErrClosed       = errors.New("ari: client closed") // Close was called

	// ErrInvalidState matches 412 ("Channel in invalid state") and 422 (unprocessable: channel not
	// in this bridge, unknown format, channel not in Stasis). 409 is kept as ErrConflict because the
	// swagger uses it mostly for "already exists" and "not in Stasis"; "not in Stasis" 409s also
	// match ErrNotInStasis.
	ErrInvalidState = errors.New("ari: invalid state")
	// ErrNotInStasis matches any 409/422 whose message says the channel or bridge is not in a
	// Stasis application — in practice the race between create/externalMedia and StasisStart.
	ErrNotInStasis = errors.New("ari: not in Stasis application")

	// ErrSubscriptionOverflow is reported by Subscription.Err when the consumer fell so far behind
	// that its queue filled up and the subscription was closed.
	ErrSubscriptionOverflow = errors.New("ari: subscription queue overflow")
	// ErrChannelGone is returned by WaitStasisStart when the channel was destroyed before StasisStart.
	ErrChannelGone = errors.New("ari: channel destroyed before StasisStart")
)

// Error is a non-2xx ARI response. It never carries credentials or query strings.
type Error struct {
	Status  int    // HTTP status code
	Method  string // HTTP method
	Path    string // escaped request path without the query, e.g. /ari/bridges/br1/addChannel
	Message string // Asterisk's "message", if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ari: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) etc. work on *Error.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrInvalidState:
		return e.Status == http.StatusPreconditionFailed || e.Status == http.StatusUnprocessableEntity
	case ErrNotInStasis:
		return (e.Status == http.StatusConflict || e.Status == http.StatusUnprocessableEntity) && saysNotInStasis(e.Message)
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// saysNotInStasis recognises the swagger/Asterisk wordings "Channel not in Stasis application",
// "Channel not in a Stasis application", "Bridge is not in a Stasis application".
func saysNotInStasis(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "not in stasis") || strings.Contains(m, "not in a stasis")
}
