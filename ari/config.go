package ari

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Defaults applied by New for zero Config fields.
const (
	DefaultRequestTimeout = 5 * time.Second
	DefaultBackoffMin     = 100 * time.Millisecond
	DefaultBackoffMax     = 10 * time.Second
	DefaultPingInterval   = 20 * time.Second
)

// Config configures a Client. Password is secret: String, GoString and LogValue redact it.
type Config struct {
	BaseURL     string // e.g. http://127.0.0.1:8088; "/ari" is appended (unless already present)
	Username    string
	Password    string
	Application string // Stasis application name for the events websocket, e.g. "crmphone"

	RequestTimeout time.Duration // per REST request and websocket handshake; default 5s
	HTTPClient     *http.Client  // optional; default: a client with its own keep-alive transport
	Logger         *slog.Logger  // optional; default discards

	BackoffMin   time.Duration // first reconnect delay; default 100ms
	BackoffMax   time.Duration // reconnect delay cap; default 10s
	PingInterval time.Duration // websocket ping period; the connection is dropped after 2 missed pongs; default 20s

	// OnStateChange, if set, is called from the event loop goroutine on every connection state
	// change. It must return quickly (e.g. set a gauge); it must not call Run or Close.
	OnStateChange func(ConnState)
}

const redacted = "[redacted]"

func (c Config) redactedPassword() string {
	if c.Password == "" {
		return ""
	}
	return redacted
}

// String describes the configuration without the password.
func (c Config) String() string {
	return fmt.Sprintf("ari.Config{BaseURL:%q Username:%q Password:%q Application:%q RequestTimeout:%s}",
		c.BaseURL, c.Username, c.redactedPassword(), c.Application, c.RequestTimeout)
}

// GoString keeps %#v from printing the password.
func (c Config) GoString() string { return c.String() }

// LogValue makes slog print the configuration without the password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("username", c.Username),
		slog.String("password", c.redactedPassword()),
		slog.String("application", c.Application),
		slog.Duration("request_timeout", c.RequestTimeout),
	)
}

func (c *Config) applyDefaults() {
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}
