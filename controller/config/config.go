// Package config loads crmphone's configuration: one YAML file plus CRMPHONE_*
// environment overrides, validated before anything starts.
package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration. Field names follow the YAML keys; the
// environment override of a key is CRMPHONE_ followed by its path in upper
// case joined with '_' (http.listen -> CRMPHONE_HTTP_LISTEN).
type Config struct {
	HTTP      HTTP      `yaml:"http"`
	Storage   Storage   `yaml:"storage"`
	Redis     Redis     `yaml:"redis"`
	ARI       ARI       `yaml:"ari"`
	Tokens    Tokens    `yaml:"tokens"`
	Signaling Signaling `yaml:"signaling"`
	Media     Media     `yaml:"media"`
	Calls     Calls     `yaml:"calls"`
	Webhooks  Webhooks  `yaml:"webhooks"`
	Inbound   Inbound   `yaml:"inbound"`
	CRM       CRM       `yaml:"crm"`
	Log       Log       `yaml:"log"`
}

// HTTP is the listener serving the softphone, the APIs and the admin panel.
type HTTP struct {
	Listen          string        `yaml:"listen"`
	AllowedOrigins  []string      `yaml:"allowed_origins"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Storage is the embedded SQLite database.
type Storage struct {
	SQLitePath  string        `yaml:"sqlite_path"`
	BusyTimeout time.Duration `yaml:"busy_timeout"`
}

// Redis holds shared live state when several controllers run; empty URL keeps
// live state in process.
type Redis struct {
	URL string `yaml:"url"`
}

// ARI is how crmphone reaches Asterisk.
type ARI struct {
	URL            string        `yaml:"url"`
	Username       string        `yaml:"username"`
	Password       string        `yaml:"password"`
	Application    string        `yaml:"application"`
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// Tokens configures CRM login token verification.
type Tokens struct {
	ClockSkew time.Duration `yaml:"clock_skew"`
	Keys      []TokenKey    `yaml:"keys"`
}

// TokenKey is one key the CRM may mint with. The secret comes from SecretHex or
// from the file named by SecretFile (hex inside), so it can stay out of the YAML.
type TokenKey struct {
	Prefix     string `yaml:"prefix"`
	ID         string `yaml:"id"`
	Format     string `yaml:"format"`
	SecretHex  string `yaml:"secret_hex"`
	SecretFile string `yaml:"secret_file"`
}

// Signaling bounds the softphone websocket.
type Signaling struct {
	MaxMessageBytes int64         `yaml:"max_message_bytes"`
	RatePerSecond   float64       `yaml:"rate_per_second"`
	Burst           int           `yaml:"burst"`
	LoginTimeout    time.Duration `yaml:"login_timeout"`
}

// Media is the WebRTC side of the media path.
type Media struct {
	UDPPort    int         `yaml:"udp_port"`
	NAT1To1IPs []string    `yaml:"nat_1to1_ips"`
	ICELite    bool        `yaml:"ice_lite"`
	RTPBindIP  string      `yaml:"rtp_bind_ip"`
	ICEServers []ICEServer `yaml:"ice_servers"`
}

// Calls tunes the call flow.
type Calls struct {
	Endpoint        string        `yaml:"endpoint"`
	RingTimeout     time.Duration `yaml:"ring_timeout"`
	DisconnectGrace time.Duration `yaml:"disconnect_grace"`
	MOHClass        string        `yaml:"moh_class"`
}

// Inbound tunes inbound call handling.
type Inbound struct {
	WrapUp time.Duration `yaml:"wrap_up"`
}

// CRM is the CRM's client lookup for the screen pop.
type CRM struct {
	LookupURL     string        `yaml:"lookup_url"`
	LookupTimeout time.Duration `yaml:"lookup_timeout"`
	LookupCache   time.Duration `yaml:"lookup_cache"`
}

// Webhooks configures call events posted to the CRM.
type Webhooks struct {
	URL        string        `yaml:"url"`
	Secret     string        `yaml:"secret"`
	Timeout    time.Duration `yaml:"timeout"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// ICEServer is a STUN/TURN server handed to the browser.
type ICEServer struct {
	URLs       []string `yaml:"urls"`
	Username   string   `yaml:"username"`
	Credential string   `yaml:"credential"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Default is a configuration that works on one machine with nothing else
// running: HTTP on loopback, SQLite under ./var, no Redis, Asterisk on loopback.
func Default() Config {
	return Config{
		HTTP: HTTP{
			Listen:          "127.0.0.1:8080",
			AllowedOrigins:  []string{"http://127.0.0.1:8080", "http://localhost:8080"},
			ShutdownTimeout: 10 * time.Second,
		},
		Storage: Storage{SQLitePath: "./var/crmphone.db", BusyTimeout: 5 * time.Second},
		ARI: ARI{
			URL:            "http://127.0.0.1:8088",
			Username:       "crmphone",
			Application:    "crmphone",
			RequestTimeout: 5 * time.Second,
		},
		Tokens:    Tokens{ClockSkew: 30 * time.Second},
		Signaling: Signaling{MaxMessageBytes: 64 << 10, RatePerSecond: 20, Burst: 40, LoginTimeout: 10 * time.Second},
		Media:     Media{UDPPort: 0, RTPBindIP: "127.0.0.1"},
		Inbound:   Inbound{WrapUp: 10 * time.Second},
		CRM:       CRM{LookupTimeout: 1500 * time.Millisecond, LookupCache: time.Minute},
		Webhooks:  Webhooks{Timeout: 10 * time.Second, MaxBackoff: 10 * time.Minute},
		Calls: Calls{Endpoint: "Local/{number}@crmphone-outbound", RingTimeout: 60 * time.Second,
			DisconnectGrace: 10 * time.Second, MOHClass: "default"},
		Log: Log{Level: "info", Format: "text"},
	}
}

// Error names the configuration key that is wrong and why.
type Error struct {
	Key    string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("config: %s: %s", e.Key, e.Reason) }

// ErrInvalid matches every *Error with errors.Is.
var ErrInvalid = errors.New("invalid configuration")

func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Load reads path (empty: defaults only), applies environment overrides from
// environ (os.Environ() form) and validates the result.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: read %s: %w", path, err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // an empty file means defaults
			return Config{}, fmt.Errorf("config: parse %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// applyEnv walks the struct by YAML tags and overrides scalar and []string
// fields from CRMPHONE_* variables.
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "CRMPHONE_") {
			env[k] = v
		}
	}
	return walkEnv(reflect.ValueOf(cfg).Elem(), "", env)
}

func walkEnv(v reflect.Value, path string, env map[string]string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if path != "" {
			key = path + "." + tag
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			if err := walkEnv(f, key, env); err != nil {
				return err
			}
			continue
		}
		name := "CRMPHONE_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		raw, ok := env[name]
		if !ok {
			continue
		}
		if err := setFromString(f, raw); err != nil {
			return &Error{Key: key, Reason: fmt.Sprintf("environment %s: %v", name, err)}
		}
	}
	return nil
}

func setFromString(f reflect.Value, raw string) error {
	switch {
	case f.Type() == reflect.TypeOf(time.Duration(0)):
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("not a duration (e.g. 5s): %q", raw)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(raw)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", raw)
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", raw)
		}
		f.SetInt(n)
	case f.Kind() == reflect.Float64:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", raw)
		}
		f.SetFloat(n)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.Set(reflect.ValueOf(parts))
	default:
		return errors.New("cannot be set from the environment; use the YAML file")
	}
	return nil
}

// Validate checks every key and returns the first problem as an *Error.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		return &Error{"http.listen", fmt.Sprintf("want host:port, got %q", c.HTTP.Listen)}
	}
	for i, o := range c.HTTP.AllowedOrigins {
		u, err := url.Parse(o)
		if o != "*" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "") {
			return &Error{fmt.Sprintf("http.allowed_origins[%d]", i), fmt.Sprintf("want an origin like https://crm.example.com, got %q", o)}
		}
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		return &Error{"http.shutdown_timeout", "must be positive"}
	}
	if c.Storage.SQLitePath == "" {
		return &Error{"storage.sqlite_path", "must not be empty"}
	}
	if c.Storage.BusyTimeout < 0 {
		return &Error{"storage.busy_timeout", "must not be negative"}
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return &Error{"redis.url", "want redis://host:port/db or rediss://..."}
		}
	}
	if u, err := url.Parse(c.ARI.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{"ari.url", fmt.Sprintf("want http(s)://host:port of Asterisk's HTTP server, got %q", c.ARI.URL)}
	}
	if c.ARI.Username == "" {
		return &Error{"ari.username", "must not be empty (see asterisk-conf/crmphone_ari.conf)"}
	}
	if c.ARI.Application == "" || strings.ContainsAny(c.ARI.Application, " /?&#,") {
		return &Error{"ari.application", "must be a plain Stasis application name"}
	}
	if c.ARI.RequestTimeout <= 0 {
		return &Error{"ari.request_timeout", "must be positive"}
	}
	if c.Tokens.ClockSkew < 0 || c.Tokens.ClockSkew > 10*time.Minute {
		return &Error{"tokens.clock_skew", "must be between 0 and 10m"}
	}
	seen := map[string]bool{}
	for i, k := range c.Tokens.Keys {
		key := fmt.Sprintf("tokens.keys[%d]", i)
		if !validKeyName(k.Prefix) {
			return &Error{key + ".prefix", "must be 1-32 characters of A-Z a-z 0-9 _ - (e.g. CRM)"}
		}
		switch k.Format {
		case "v2":
			if !validKeyName(k.ID) {
				return &Error{key + ".id", "v2 keys need an id of 1-32 characters of A-Z a-z 0-9 _ - (e.g. k1)"}
			}
		case "legacy":
			if k.ID != "" {
				return &Error{key + ".id", "legacy keys have no id: the prefix alone names them"}
			}
		default:
			return &Error{key + ".format", fmt.Sprintf("want v2 or legacy, got %q", k.Format)}
		}
		if id := k.Prefix + "." + k.ID; seen[id] {
			return &Error{key, "duplicate prefix and id"}
		} else {
			seen[id] = true
		}
		if _, err := k.Secret(); err != nil {
			return &Error{key, err.Error()}
		}
	}
	if c.Signaling.MaxMessageBytes < 512 {
		return &Error{"signaling.max_message_bytes", "must be at least 512"}
	}
	if c.Signaling.RatePerSecond <= 0 || c.Signaling.Burst <= 0 {
		return &Error{"signaling.rate_per_second", "rate_per_second and burst must be positive"}
	}
	if c.Signaling.LoginTimeout <= 0 {
		return &Error{"signaling.login_timeout", "must be positive"}
	}
	if c.Media.UDPPort < 0 || c.Media.UDPPort > 65535 {
		return &Error{"media.udp_port", "must be 0..65535"}
	}
	if net.ParseIP(c.Media.RTPBindIP) == nil {
		return &Error{"media.rtp_bind_ip", fmt.Sprintf("not an IP address: %q", c.Media.RTPBindIP)}
	}
	for i, ip := range c.Media.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			return &Error{fmt.Sprintf("media.nat_1to1_ips[%d]", i), fmt.Sprintf("not an IP address: %q", ip)}
		}
	}
	if !strings.Contains(c.Calls.Endpoint, "{number}") || !strings.Contains(c.Calls.Endpoint, "/") {
		return &Error{"calls.endpoint", "want a dial string template with {number}, e.g. Local/{number}@crmphone-outbound or PJSIP/{number}@trunk"}
	}
	if c.Calls.RingTimeout < time.Second || c.Calls.RingTimeout%time.Second != 0 {
		return &Error{"calls.ring_timeout", "must be whole seconds, at least 1s (Asterisk's dial timeout is in seconds)"}
	}
	if c.Calls.DisconnectGrace <= 0 {
		return &Error{"calls.disconnect_grace", "must be positive"}
	}
	if c.Calls.MOHClass == "" {
		return &Error{"calls.moh_class", "must not be empty (Asterisk's class is \"default\")"}
	}
	if c.Inbound.WrapUp < 0 || c.Inbound.WrapUp > time.Hour {
		return &Error{"inbound.wrap_up", "must be between 0 and 1h"}
	}
	if c.CRM.LookupURL != "" {
		if u, err := url.Parse(c.CRM.LookupURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.Contains(c.CRM.LookupURL, "{number}") {
			return &Error{"crm.lookup_url", "want an http(s) URL containing {number}, e.g. https://crm.example.com/api/lookup?phone={number}"}
		}
	}
	if c.CRM.LookupTimeout <= 0 || c.CRM.LookupCache < 0 {
		return &Error{"crm.lookup_timeout", "lookup_timeout must be positive and lookup_cache not negative"}
	}
	if c.Webhooks.URL != "" {
		if u, err := url.Parse(c.Webhooks.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &Error{"webhooks.url", "want an absolute http(s) URL of the CRM's webhook receiver"}
		}
		if len(c.Webhooks.Secret) < 16 {
			return &Error{"webhooks.secret", "at least 16 characters (set CRMPHONE_WEBHOOKS_SECRET)"}
		}
	}
	if c.Webhooks.Timeout <= 0 || c.Webhooks.MaxBackoff <= 0 {
		return &Error{"webhooks.timeout", "timeout and max_backoff must be positive"}
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		return &Error{"log.level", "want debug, info, warn or error"}
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return &Error{"log.format", "want text or json"}
	}
	return nil
}

func validKeyName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Secret returns the key bytes, read from SecretHex or SecretFile. The error
// never contains the secret itself.
func (k TokenKey) Secret() ([]byte, error) {
	raw := k.SecretHex
	if k.SecretFile != "" {
		if raw != "" {
			return nil, errors.New("set secret_hex or secret_file, not both")
		}
		b, err := os.ReadFile(k.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("secret_file: %w", err)
		}
		raw = strings.TrimSpace(string(b))
	}
	if raw == "" {
		return nil, errors.New("secret_hex or secret_file is required")
	}
	b, err := hex.DecodeString(raw)
	if err != nil {
		return nil, errors.New("secret is not valid hex")
	}
	switch {
	case k.Format == "v2" && len(b) != 32:
		return nil, fmt.Errorf("v2 keys are 256-bit (64 hex digits), got %d bits", len(b)*8)
	case k.Format == "legacy" && len(b) != 16 && len(b) != 24 && len(b) != 32:
		return nil, fmt.Errorf("legacy keys are 128/192/256-bit, got %d bits", len(b)*8)
	}
	return b, nil
}
