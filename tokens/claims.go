package tokens

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Secret is a string that must not reach logs: fmt, slog and encoding/json
// print it as "[REDACTED]". Reveal returns the real value.
type Secret string

const redacted = "[REDACTED]"

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// String redacts the secret (fmt %v, %s, %q, %x all go through it).
func (s Secret) String() string { return redacted }

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return redacted }

// LogValue redacts the secret for slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON redacts the secret for encoding/json.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// SIPIdentity is the SIP account a token lets the operator use.
type SIPIdentity struct {
	Login         string // SIP user (From/To user part)
	AuthName      string // digest authentication user; often equal to Login
	Password      Secret
	Domain        string // SIP domain / registrar
	OutboundProxy string // optional
	Port          int    // optional; 0 means the default
}

// URI is "sip:login@domain".
func (s *SIPIdentity) URI() string {
	if s == nil {
		return ""
	}
	return "sip:" + s.Login + "@" + s.Domain
}

// String describes the identity without the password.
func (s *SIPIdentity) String() string {
	if s == nil {
		return "<none>"
	}
	var b strings.Builder
	b.WriteString(s.URI())
	if s.AuthName != "" && s.AuthName != s.Login {
		b.WriteString(" auth=" + s.AuthName)
	}
	if s.OutboundProxy != "" {
		b.WriteString(" proxy=" + s.OutboundProxy)
	}
	if s.Port != 0 {
		b.WriteString(" port=" + strconv.Itoa(s.Port))
	}
	return b.String()
}

// LogValue describes the identity without the password.
func (s *SIPIdentity) LogValue() slog.Value {
	if s == nil {
		return slog.Value{}
	}
	return slog.GroupValue(
		slog.String("login", s.Login),
		slog.String("auth_name", s.AuthName),
		slog.String("domain", s.Domain),
		slog.String("outbound_proxy", s.OutboundProxy),
		slog.Int("port", s.Port),
		slog.Bool("password_set", s.Password != ""),
	)
}

// Claims is what a valid token says about the operator logging in.
// String and LogValue omit the SIP password.
type Claims struct {
	TokenID      string       // unique per token (v2 "jti"; legacy: derived from a hash of the token)
	OperatorID   string       // CRM's operator id (legacy: operator_id, else sip_login)
	DisplayName  string       // optional
	SIP          *SIPIdentity // optional
	Extension    string       // optional local extension, instead of or besides SIP
	DialPatterns []string     // Asterisk patterns the operator may dial; empty: any number
	IssuedAt     time.Time    // zero if the token does not say (legacy)
	ExpiresAt    time.Time

	// Set by Verify.
	KeyName string // key that vouched for the token: "CRM.k1" or "WCS"
	Format  string // FormatV2 or FormatLegacy
}

// String describes the claims without the SIP password.
func (c Claims) String() string {
	return fmt.Sprintf("operator=%s name=%q sip=%s ext=%s dial=%q key=%s exp=%s jti=%s",
		c.OperatorID, c.DisplayName, c.SIP.String(), c.Extension, c.DialPatterns,
		c.KeyName, c.ExpiresAt.UTC().Format(time.RFC3339), c.TokenID)
}

// LogValue describes the claims for slog without the SIP password.
func (c Claims) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("operator_id", c.OperatorID),
		slog.String("display_name", c.DisplayName),
	}
	if c.SIP != nil {
		attrs = append(attrs, slog.Attr{Key: "sip", Value: c.SIP.LogValue()})
	}
	attrs = append(attrs,
		slog.String("extension", c.Extension),
		slog.Any("dial_patterns", c.DialPatterns),
		slog.Time("issued_at", c.IssuedAt),
		slog.Time("expires_at", c.ExpiresAt),
		slog.String("key", c.KeyName),
		slog.String("format", c.Format),
		slog.String("token_id", c.TokenID),
	)
	return slog.GroupValue(attrs...)
}

// Limits on claim sizes; the token length limit bounds the rest.
const (
	maxTokenIDLen    = 128
	maxOperatorIDLen = 128
	maxDialPatterns  = 256
)

// validate checks what every token must carry. Messages name claims, never values.
func (c *Claims) validate() error {
	switch {
	case c.TokenID == "":
		return fmt.Errorf("missing jti")
	case len(c.TokenID) > maxTokenIDLen:
		return fmt.Errorf("jti longer than %d bytes", maxTokenIDLen)
	case c.OperatorID == "":
		return fmt.Errorf("missing operator_id")
	case len(c.OperatorID) > maxOperatorIDLen:
		return fmt.Errorf("operator_id longer than %d bytes", maxOperatorIDLen)
	case c.ExpiresAt.IsZero():
		return fmt.Errorf("missing exp")
	case len(c.DialPatterns) > maxDialPatterns:
		return fmt.Errorf("more than %d dial_patterns", maxDialPatterns)
	}
	if s := c.SIP; s != nil {
		switch {
		case s.Login == "":
			return fmt.Errorf("sip.login missing")
		case s.Domain == "":
			return fmt.Errorf("sip.domain missing")
		case s.Port < 0 || s.Port > 65535:
			return fmt.Errorf("sip.port out of range")
		}
	}
	return nil
}
