package tokens

import (
	"errors"
	"fmt"
)

// Rejection reasons. Every error Verify returns for a token it refuses wraps
// exactly one of these; test with errors.Is or map with Code. The error text
// carries a detailed reason for the server log, but never the token, a key or
// a SIP password, so it is safe to log. Send clients only Code(err).
var (
	// ErrMalformed: not shaped like a token (no "prefix:" header, bad
	// characters, bad hex/base64, wrong length, too long), or a v2 token whose
	// authenticated claims are not valid JSON or lack a required claim.
	ErrMalformed = errors.New("malformed token")
	// ErrUnknownKey: no configured key matches the token's prefix (and key id),
	// including a legacy-format token for a prefix that is not configured as legacy.
	ErrUnknownKey = errors.New("unknown token key")
	// ErrBadToken: the token does not authenticate (wrong key or modified), a
	// legacy token does not decrypt to a valid record, or it claims to be
	// issued in the future.
	ErrBadToken = errors.New("bad token")
	// ErrExpired: the token's expiry, plus the allowed clock skew, has passed.
	ErrExpired = errors.New("token expired")
	// ErrReplayed: this token (its id) has already been used for a login.
	ErrReplayed = errors.New("token already used")
)

// Code maps an error returned by Verify to the public rejection code:
// "malformed", "unknown_key", "bad_token", "expired" or "replayed". Any other
// error (a failing replay store, a cancelled context) is "internal"; nil is "".
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrUnknownKey):
		return "unknown_key"
	case errors.Is(err, ErrBadToken):
		return "bad_token"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrReplayed):
		return "replayed"
	default:
		return "internal"
	}
}

// reject builds a rejection wrapping kind. The detail is formatted by this
// package from values that are known not to be secret: parse errors of
// third-party decoders are never wrapped, because their messages may quote
// the input (a token, or a password typed into the wrong JSON field).
func reject(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}
