// Package logging builds crmphone's log/slog logger. Its handler redacts
// attributes whose names say they hold secrets, as a second line of defence:
// code must not log secrets in the first place.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Redacted replaces secret values in the log.
const Redacted = "[REDACTED]"

var secretWords = []string{"password", "passwd", "secret", "token", "credential", "authorization", "api_key", "apikey"}

// IsSecretKey reports whether an attribute name suggests a secret value.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// New returns a logger writing text or json at level to w.
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("logging: level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: redact}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("logging: format %q: want text or json", format)
	}
	return slog.New(h), nil
}

func redact(_ []string, a slog.Attr) slog.Attr {
	if IsSecretKey(a.Key) && a.Value.Kind() != slog.KindGroup {
		return slog.String(a.Key, Redacted)
	}
	return a
}

// Discard is a logger that writes nothing, for tests.
func Discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
