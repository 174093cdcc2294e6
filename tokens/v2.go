package tokens

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// v2 token layout (see README.md for the byte-by-byte description):
//
//	<prefix>.<kid>:<base64url-nopad( nonce[12] || AES-256-GCM(claims JSON) || tag[16] )>
//
// The header "<prefix>.<kid>:" (colon included) is the GCM additional data,
// so changing the prefix or key id invalidates the token even when two keys
// share a secret.
const (
	v2NonceSize = 12
	v2TagSize   = 16
	// maxExpSeconds catches a CRM sending milliseconds where v2 wants seconds
	// (10^11 s is the year 5138).
	maxExpSeconds = 100_000_000_000
)

var b64 = base64.RawURLEncoding.Strict()

// wireSIP and wireClaims are the v2 JSON claims, as the CRM writes them.
type wireSIP struct {
	Login         string `json:"login"`
	AuthName      string `json:"auth_name,omitempty"`
	Password      string `json:"password,omitempty"`
	Domain        string `json:"domain"`
	OutboundProxy string `json:"outbound_proxy,omitempty"`
	Port          int    `json:"port,omitempty"`
}

type wireClaims struct {
	JTI          string   `json:"jti"`
	IAT          int64    `json:"iat,omitempty"`
	EXP          int64    `json:"exp"`
	OperatorID   string   `json:"operator_id"`
	DisplayName  string   `json:"display_name,omitempty"`
	SIP          *wireSIP `json:"sip,omitempty"`
	Extension    string   `json:"extension,omitempty"`
	DialPatterns []string `json:"dial_patterns,omitempty"`
}

// MintV2 mints a v2 token for c with the keyring's minting key: the LAST v2
// key given to NewKeyring (build a one-key Keyring to choose another).
// A missing TokenID gets a random one, a zero IssuedAt the current time;
// ExpiresAt is required. Times are carried in whole seconds.
func MintV2(kr *Keyring, c Claims) (string, error) {
	if kr == nil || kr.minting == nil {
		return "", errors.New("tokens: keyring has no v2 key to mint with")
	}
	if c.TokenID == "" {
		c.TokenID = newTokenID()
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if err := c.validate(); err != nil {
		return "", fmt.Errorf("tokens: cannot mint: %w", err)
	}
	if !c.ExpiresAt.After(c.IssuedAt) {
		return "", errors.New("tokens: cannot mint: expiry is not after issued-at")
	}
	w := wireClaims{
		JTI: c.TokenID, IAT: c.IssuedAt.Unix(), EXP: c.ExpiresAt.Unix(),
		OperatorID: c.OperatorID, DisplayName: c.DisplayName,
		Extension: c.Extension, DialPatterns: c.DialPatterns,
	}
	if s := c.SIP; s != nil {
		w.SIP = &wireSIP{Login: s.Login, AuthName: s.AuthName, Password: s.Password.Reveal(),
			Domain: s.Domain, OutboundProxy: s.OutboundProxy, Port: s.Port}
	}
	plain, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("tokens: cannot mint: encoding claims: %w", err)
	}
	key := kr.minting
	header := key.Name() + ":"
	nonce := make([]byte, v2NonceSize, v2NonceSize+len(plain)+v2TagSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("tokens: cannot mint: %w", err)
	}
	sealed := key.aead.Seal(nonce, nonce, plain, []byte(header))
	return header + b64.EncodeToString(sealed), nil
}

func newTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// openV2 authenticates and decodes the part after the header. aad is the
// header including its colon.
func openV2(key *v2Key, aad, body string) (*Claims, error) {
	for i := 0; i < len(body); i++ {
		if !isBase64URLChar(body[i]) {
			return nil, reject(ErrMalformed, "v2 token body has a character outside base64url at position %d", len(aad)+i)
		}
	}
	sealed, err := b64.DecodeString(body)
	if err != nil {
		return nil, reject(ErrMalformed, "v2 token body is not unpadded base64url")
	}
	if len(sealed) < v2NonceSize+v2TagSize {
		return nil, reject(ErrMalformed, "v2 token body is %d bytes, shorter than nonce and tag", len(sealed))
	}
	nonce, ct := sealed[:v2NonceSize], sealed[v2NonceSize:]
	plain, err := key.aead.Open(ct[:0], nonce, ct, []byte(aad))
	if err != nil {
		return nil, reject(ErrBadToken, "v2 token does not authenticate with key %s (wrong key or modified)", key.Name())
	}
	var w wireClaims
	if err := json.Unmarshal(plain, &w); err != nil {
		return nil, reject(ErrMalformed, "v2 claims (key %s): %s", key.Name(), describeJSONError(err))
	}
	if w.EXP >= maxExpSeconds {
		return nil, reject(ErrMalformed, "v2 claims (key %s): exp is too large: it must be seconds since the epoch, not milliseconds", key.Name())
	}
	if w.EXP < 0 || w.IAT < 0 {
		return nil, reject(ErrMalformed, "v2 claims (key %s): negative exp or iat", key.Name())
	}
	c := &Claims{
		TokenID: w.JTI, OperatorID: w.OperatorID, DisplayName: w.DisplayName,
		Extension: w.Extension, DialPatterns: w.DialPatterns,
		KeyName: key.Name(), Format: FormatV2,
	}
	if w.EXP != 0 {
		c.ExpiresAt = time.Unix(w.EXP, 0)
	}
	if w.IAT != 0 {
		c.IssuedAt = time.Unix(w.IAT, 0)
	}
	if s := w.SIP; s != nil {
		c.SIP = &SIPIdentity{Login: s.Login, AuthName: s.AuthName, Password: Secret(s.Password),
			Domain: s.Domain, OutboundProxy: s.OutboundProxy, Port: s.Port}
		if c.SIP.AuthName == "" {
			c.SIP.AuthName = c.SIP.Login
		}
	}
	if err := c.validate(); err != nil {
		return nil, reject(ErrMalformed, "v2 claims (key %s): %s", key.Name(), err)
	}
	return c, nil
}

func isBase64URLChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// describeJSONError names what is wrong without quoting the input: JSON type
// errors quote numbers, and a password written as a number would leak.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return "claims must be a JSON object"
		}
		return fmt.Sprintf("claim %q has the wrong JSON type (want %s)", typ.Field, typ.Type)
	default:
		return "invalid JSON"
	}
}
