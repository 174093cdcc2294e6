package tokens

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Legacy token layout, compatible with Flashphoner Web Call Server's
// loginByToken (see README.md):
//
//	<prefix>:<hex( iv[16] || AES-CTR(key, iv, XML record) )>
const legacyIVSize = aes.BlockSize

// LegacyRecord is the XML record inside a legacy token. The root element's
// name is free (Web Call Server uses several); MintLegacy writes <token>.
type LegacyRecord struct {
	SIPLogin         string
	SIPAuthName      string // empty: SIPLogin
	SIPPassword      Secret
	SIPDomain        string
	SIPOutboundProxy string // optional
	SIPPort          int    // optional; 0 leaves <sip_port> out
	Expires          time.Time
	OperatorID       string // optional; verification falls back to SIPLogin
	DisplayName      string // optional
}

// legacyXML reads any root element: XMLName without a tag name matches all.
type legacyXML struct {
	XMLName          xml.Name
	SIPLogin         string `xml:"sip_login"`
	SIPAuthName      string `xml:"sip_auth_name"`
	SIPPassword      string `xml:"sip_password"`
	SIPDomain        string `xml:"sip_domain"`
	SIPOutboundProxy string `xml:"sip_outbound_proxy"`
	SIPPort          string `xml:"sip_port"`
	Expires          string `xml:"expires"`
	OperatorID       string `xml:"operator_id"`
	DisplayName      string `xml:"display_name"`
}

// MintLegacy mints a legacy token: prefix, a 16/24/32-byte AES key, and the
// record (SIPLogin, SIPDomain and Expires required). The hex is lowercase.
//
// SECURITY: AES-CTR is malleable and the legacy format has no authentication
// tag. Anyone holding a legacy token can flip chosen bits of its plaintext
// (for example digits of <expires> or <sip_login>, when they know or guess the
// record's layout) and the result still decrypts; it is accepted if it still
// parses and carries the required fields. Configure a prefix as legacy only for
// a CRM that cannot mint v2 tokens yet, keep those tokens short-lived, and
// move to v2.
func MintLegacy(prefix string, key []byte, rec LegacyRecord) (string, error) {
	if !validName(prefix) {
		return "", fmt.Errorf("tokens: cannot mint: prefix must be 1-%d characters of A-Z a-z 0-9 _ -", maxNameLen)
	}
	switch len(key) {
	case 16, 24, 32:
	default:
		return "", fmt.Errorf("tokens: cannot mint: legacy key must be 16, 24 or 32 bytes, got %d", len(key))
	}
	if rec.SIPLogin == "" || rec.SIPDomain == "" || rec.Expires.IsZero() {
		return "", errors.New("tokens: cannot mint: legacy record needs SIPLogin, SIPDomain and Expires")
	}
	if rec.SIPAuthName == "" {
		rec.SIPAuthName = rec.SIPLogin
	}
	var x bytes.Buffer
	x.WriteString("<token>")
	field := func(name, value string) {
		x.WriteString("<" + name + ">")
		_ = xml.EscapeText(&x, []byte(value)) // writing to a bytes.Buffer cannot fail
		x.WriteString("</" + name + ">")
	}
	field("sip_login", rec.SIPLogin)
	field("sip_auth_name", rec.SIPAuthName)
	field("sip_password", rec.SIPPassword.Reveal())
	field("sip_domain", rec.SIPDomain)
	if rec.SIPOutboundProxy != "" {
		field("sip_outbound_proxy", rec.SIPOutboundProxy)
	}
	if rec.SIPPort != 0 {
		field("sip_port", strconv.Itoa(rec.SIPPort))
	}
	field("expires", strconv.FormatInt(rec.Expires.UnixMilli(), 10))
	if rec.OperatorID != "" {
		field("operator_id", rec.OperatorID)
	}
	if rec.DisplayName != "" {
		field("display_name", rec.DisplayName)
	}
	x.WriteString("</token>")

	block, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("tokens: cannot mint: %w", err)
	}
	out := make([]byte, legacyIVSize+x.Len())
	iv := out[:legacyIVSize]
	if _, err := rand.Read(iv); err != nil {
		return "", fmt.Errorf("tokens: cannot mint: %w", err)
	}
	cipher.NewCTR(block, iv).XORKeyStream(out[legacyIVSize:], x.Bytes())
	return prefix + ":" + hex.EncodeToString(out), nil
}

// openLegacy decrypts and parses the hex after "<prefix>:".
func openLegacy(key *legacyKey, body string) (*Claims, error) {
	for i := 0; i < len(body); i++ {
		if !isHexDigit(body[i]) {
			return nil, reject(ErrMalformed, "legacy token body has a non-hex character at position %d", len(key.Prefix)+1+i)
		}
	}
	if len(body)%2 != 0 {
		return nil, reject(ErrMalformed, "legacy token body has an odd number of hex digits")
	}
	raw := make([]byte, len(body)/2)
	if _, err := hex.Decode(raw, []byte(body)); err != nil {
		return nil, reject(ErrMalformed, "legacy token body is not hex")
	}
	if len(raw) <= legacyIVSize {
		return nil, reject(ErrMalformed, "legacy token is %d bytes, not longer than its %d-byte IV", len(raw), legacyIVSize)
	}
	// The replay id hashes the decoded bytes, not the text, so the same token
	// in upper- and lowercase hex is one token.
	sum := sha256.New()
	sum.Write([]byte(key.Prefix + ":"))
	sum.Write(raw)
	tokenID := "legacy-" + hex.EncodeToString(sum.Sum(nil)[:16])

	iv, ct := raw[:legacyIVSize], raw[legacyIVSize:]
	plain := make([]byte, len(ct))
	cipher.NewCTR(key.block, iv).XORKeyStream(plain, ct)

	rec, why := parseLegacyXML(plain)
	if why != "" {
		// A wrong key or a modified token decrypts to garbage; we cannot tell which.
		return nil, reject(ErrBadToken, "legacy token with key %s: %s (wrong key or modified)", key.Name(), why)
	}
	c, why := rec.claims()
	if why != "" {
		return nil, reject(ErrBadToken, "legacy token with key %s: %s", key.Name(), why)
	}
	c.TokenID, c.KeyName, c.Format = tokenID, key.Name(), FormatLegacy
	return c, nil
}

// parseLegacyXML returns why the plaintext is not one XML record ("" if it is).
// The reason never quotes the plaintext.
func parseLegacyXML(plain []byte) (*legacyXML, string) {
	var rec legacyXML
	dec := xml.NewDecoder(bytes.NewReader(plain))
	if err := dec.Decode(&rec); err != nil {
		var syn *xml.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Sprintf("plaintext is not XML (line %d)", syn.Line)
		}
		return nil, "plaintext is not an XML record"
	}
	for { // nothing but white space and comments may follow the record
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "plaintext has malformed data after the XML record"
		}
		switch t := tok.(type) {
		case xml.Comment:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, "plaintext has text after the XML record"
			}
		default:
			return nil, "plaintext has more than one XML record"
		}
	}
	return &rec, ""
}

func (x *legacyXML) claims() (*Claims, string) {
	trim := strings.TrimSpace
	login, domain := trim(x.SIPLogin), trim(x.SIPDomain)
	if login == "" {
		return nil, "record lacks sip_login"
	}
	if domain == "" {
		return nil, "record lacks sip_domain"
	}
	ms, err := strconv.ParseInt(trim(x.Expires), 10, 64)
	if err != nil || ms <= 0 {
		return nil, "record lacks a valid expires (milliseconds since the epoch)"
	}
	sip := &SIPIdentity{Login: login, AuthName: trim(x.SIPAuthName), Password: Secret(x.SIPPassword),
		Domain: domain, OutboundProxy: trim(x.SIPOutboundProxy)}
	if sip.AuthName == "" {
		sip.AuthName = login
	}
	if p := trim(x.SIPPort); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 0 || port > 65535 {
			return nil, "record has an invalid sip_port"
		}
		sip.Port = port
	}
	c := &Claims{
		OperatorID: trim(x.OperatorID), DisplayName: trim(x.DisplayName),
		SIP: sip, ExpiresAt: time.UnixMilli(ms),
	}
	if c.OperatorID == "" {
		c.OperatorID = login
	}
	if len(c.OperatorID) > maxOperatorIDLen {
		return nil, fmt.Sprintf("operator_id longer than %d bytes", maxOperatorIDLen)
	}
	return c, ""
}
