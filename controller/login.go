package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/crmphone/crmphone/controller/agents"
	"github.com/crmphone/crmphone/controller/metrics"
	"github.com/crmphone/crmphone/controller/store"
)

// Identity is what a verified CRM token says about an operator. The SIP
// password, when the token carries one, stays inside the token package's
// claims and never reaches this struct.
type Identity struct {
	OperatorID   string
	DisplayName  string
	KeyName      string // prefix[.kid] of the key that vouched for the token
	SIPIdentity  string // sip:login@domain, if any
	Extension    string
	DialPatterns []string
	ExpiresAt    time.Time
	// AllowsDial reports whether the token lets the operator dial number.
	AllowsDial func(number string) bool `json:"-"`
}

// TokenVerifier checks a CRM login token. Code maps its errors to the public
// rejection codes (malformed, unknown_key, bad_token, expired, replayed).
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (Identity, error)
	Code(err error) string
}

// Presence is where online operators are tracked.
type Presence interface {
	Join(ctx context.Context, operatorID, displayName, sessionID string) (int, error)
	Leave(ctx context.Context, operatorID, sessionID string) (int, error)
	Online(ctx context.Context) ([]agents.Entry, error)
}

// Store is the persistence the login flow needs.
type Store interface {
	UpsertOperator(ctx context.Context, op store.Operator) error
	TouchOperator(ctx context.Context, id string) error
	RecordLogin(ctx context.Context, a store.LoginAttempt) error
}

// LoginError is a rejected login: Code is safe to show the client; the
// wrapped error has the detail for the server log.
type LoginError struct {
	Code string
	Err  error
}

func (e *LoginError) Error() string { return "login rejected: " + e.Code + ": " + e.Err.Error() }
func (e *LoginError) Unwrap() error { return e.Err }

// ErrInternal is a login that failed on our side, not the token's.
var ErrInternal = errors.New("internal error")

// Client describes where a login comes from, for the audit.
type Client struct {
	RemoteAddr string
	UserAgent  string
}

// Session is one logged-in softphone connection (one browser tab).
type Session struct {
	ID       string
	Identity Identity
	Started  time.Time
}

// Operators runs operator logins and presence.
type Operators struct {
	tokens   TokenVerifier
	store    Store
	presence Presence
	metrics  *metrics.Metrics
	log      *slog.Logger
}

// NewOperators wires the login flow.
func NewOperators(tokens TokenVerifier, st Store, pr Presence, m *metrics.Metrics, log *slog.Logger) *Operators {
	return &Operators{tokens: tokens, store: st, presence: pr, metrics: m, log: log}
}

// Login verifies the token, records the operator and the attempt, and puts a
// new session online. A rejected token returns *LoginError.
func (o *Operators) Login(ctx context.Context, token string, from Client) (*Session, error) {
	id, err := o.tokens.VerifyToken(ctx, token)
	if err != nil {
		code := o.tokens.Code(err)
		o.metrics.Logins.WithLabelValues(code).Inc()
		// Full detail for the server log; the token itself never.
		o.log.LogAttrs(ctx, slog.LevelWarn, "login rejected", slog.String("code", code),
			slog.String("remote", from.RemoteAddr), slog.String("reason", err.Error()))
		if aerr := o.store.RecordLogin(ctx, store.LoginAttempt{RemoteAddr: from.RemoteAddr, UserAgent: from.UserAgent, Result: code}); aerr != nil {
			o.log.Error("login audit failed", "err", aerr)
		}
		return nil, &LoginError{Code: code, Err: err}
	}
	sess := &Session{ID: newSessionID(), Identity: id, Started: time.Now()}
	if err := o.store.UpsertOperator(ctx, store.Operator{
		ID: id.OperatorID, DisplayName: id.DisplayName, CRMIdentity: id.KeyName,
		SIPIdentity: id.SIPIdentity, Extension: id.Extension,
	}); err != nil {
		o.metrics.Logins.WithLabelValues("internal").Inc()
		return nil, &LoginError{Code: "internal", Err: fmt.Errorf("%w: %w", ErrInternal, err)}
	}
	if err := o.store.RecordLogin(ctx, store.LoginAttempt{OperatorID: id.OperatorID, RemoteAddr: from.RemoteAddr, UserAgent: from.UserAgent, Result: "ok"}); err != nil {
		o.log.Error("login audit failed", "err", err)
	}
	tabs, err := o.presence.Join(ctx, id.OperatorID, id.DisplayName, sess.ID)
	if err != nil {
		o.metrics.Logins.WithLabelValues("internal").Inc()
		return nil, &LoginError{Code: "internal", Err: fmt.Errorf("%w: presence: %w", ErrInternal, err)}
	}
	o.metrics.Logins.WithLabelValues("ok").Inc()
	o.refreshOnline(ctx)
	o.log.Info("operator online", "operator", id.OperatorID, "session", sess.ID, "tabs", tabs, "remote", from.RemoteAddr)
	return sess, nil
}

// Logout takes the session offline; the operator goes offline with the last one.
func (o *Operators) Logout(ctx context.Context, sess *Session) {
	left, err := o.presence.Leave(ctx, sess.Identity.OperatorID, sess.ID)
	if err != nil {
		o.log.Error("presence leave failed", "operator", sess.Identity.OperatorID, "err", err)
	}
	if left == 0 {
		if err := o.store.TouchOperator(ctx, sess.Identity.OperatorID); err != nil {
			o.log.Error("touch operator failed", "err", err)
		}
	}
	o.refreshOnline(ctx)
	o.log.Info("operator session closed", "operator", sess.Identity.OperatorID, "session", sess.ID, "tabs_left", left)
}

// Online lists online operators.
func (o *Operators) Online(ctx context.Context) ([]agents.Entry, error) {
	return o.presence.Online(ctx)
}

func (o *Operators) refreshOnline(ctx context.Context) {
	if online, err := o.presence.Online(ctx); err == nil {
		o.metrics.OperatorsOnline.Set(float64(len(online)))
	}
}

func newSessionID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}
