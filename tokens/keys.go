package tokens

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Key formats.
const (
	// FormatV2 is the default format: AES-256-GCM, authenticated, JSON claims.
	FormatV2 = "v2"
	// FormatLegacy is the Flashphoner Web Call Server compatible format:
	// AES-CTR, XML record. NOT authenticated: AES-CTR is malleable, so a
	// holder of a token can modify its plaintext undetected (see MintLegacy).
	FormatLegacy = "legacy"
)

// Key is one secret the CRM mints tokens with. A v2 token names its key by
// "<Prefix>.<ID>", a legacy token by "<Prefix>" alone (legacy keys have no ID).
// String, GoString and LogValue never show Secret.
type Key struct {
	Prefix string
	ID     string
	Format string // FormatV2 or FormatLegacy
	Secret []byte // v2: 32 bytes; legacy: 16, 24 or 32 bytes (AES-128/192/256)
}

// Name is how a token refers to the key: "CRM.k1" (v2) or "WCS" (legacy).
func (k Key) Name() string {
	if k.Format == FormatLegacy {
		return k.Prefix
	}
	return k.Prefix + "." + k.ID
}

// String describes the key without its secret.
func (k Key) String() string { return k.Name() + " (" + k.Format + ")" }

// GoString keeps %#v from printing the secret.
func (k Key) GoString() string { return "tokens.Key{" + k.String() + "}" }

// LogValue keeps slog from printing the secret.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", k.Name()), slog.String("format", k.Format))
}

// ParseKeyHex decodes a key written as hex (either case; surrounding
// whitespace, such as a key file's trailing newline, is ignored). Its errors
// never quote the key. Lengths are checked by NewKeyring, which knows the format.
func ParseKeyHex(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("key is empty")
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return nil, fmt.Errorf("key is not hex: invalid character at position %d", i)
		}
	}
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("key is not hex: odd number of digits (%d)", len(s))
	}
	b := make([]byte, len(s)/2)
	if _, err := hex.Decode(b, []byte(s)); err != nil {
		return nil, errors.New("key is not hex") // unreachable after the checks above; never wrap: hex errors quote input
	}
	return b, nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isNameChar is the alphabet of prefixes and key ids: it excludes ':' and '.',
// which separate them in a token header.
func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

const maxNameLen = 32

// v2Key is a v2 key with its AEAD ready; cipher.AEAD from crypto/aes is safe
// for concurrent use.
type v2Key struct {
	Key
	aead cipher.AEAD
}

// legacyKey is a legacy key with its block cipher ready (safe for concurrent use).
type legacyKey struct {
	Key
	block cipher.Block
}

// Keyring holds the keys tokens are verified (and minted) with. Build it with
// NewKeyring; it is immutable and safe for concurrent use.
type Keyring struct {
	v2      map[string]*v2Key     // by "prefix.id"
	legacy  map[string]*legacyKey // by prefix
	minting *v2Key                // last v2 key listed
}

// NewKeyring checks and loads keys. Several v2 keys may share a prefix with
// different ids (rotation); a legacy prefix has exactly one key. The secrets are
// copied. MintV2 uses the LAST v2 key of the list, so append new keys at the end.
func NewKeyring(keys []Key) (*Keyring, error) {
	kr := &Keyring{v2: map[string]*v2Key{}, legacy: map[string]*legacyKey{}}
	for i, k := range keys {
		where := fmt.Sprintf("key %d", i)
		if !validName(k.Prefix) {
			return nil, fmt.Errorf("%s: prefix must be 1-%d characters of A-Z a-z 0-9 _ - (e.g. CRM)", where, maxNameLen)
		}
		k.Secret = append([]byte(nil), k.Secret...)
		switch k.Format {
		case FormatV2:
			if !validName(k.ID) {
				return nil, fmt.Errorf("%s (prefix %s): v2 keys need an id of 1-%d characters of A-Z a-z 0-9 _ - (e.g. k1)", where, k.Prefix, maxNameLen)
			}
			if len(k.Secret) != 32 {
				return nil, fmt.Errorf("%s (%s): a v2 secret must be 32 bytes (64 hex digits, AES-256), got %d bytes", where, k.Name(), len(k.Secret))
			}
			if _, dup := kr.v2[k.Name()]; dup {
				return nil, fmt.Errorf("%s: duplicate v2 key %s", where, k.Name())
			}
			block, err := aes.NewCipher(k.Secret)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): %w", where, k.Name(), err)
			}
			aead, err := cipher.NewGCM(block)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): %w", where, k.Name(), err)
			}
			kr.v2[k.Name()] = &v2Key{Key: k, aead: aead}
			kr.minting = kr.v2[k.Name()]
		case FormatLegacy:
			if k.ID != "" {
				return nil, fmt.Errorf("%s (prefix %s): legacy keys have no id: a legacy token names its key by prefix only", where, k.Prefix)
			}
			switch len(k.Secret) {
			case 16, 24, 32:
			default:
				return nil, fmt.Errorf("%s (%s): a legacy secret must be 16, 24 or 32 bytes (32, 48 or 64 hex digits: AES-128/192/256), got %d bytes", where, k.Name(), len(k.Secret))
			}
			if _, dup := kr.legacy[k.Prefix]; dup {
				return nil, fmt.Errorf("%s: duplicate legacy prefix %s (legacy tokens cannot name one of several keys)", where, k.Prefix)
			}
			block, err := aes.NewCipher(k.Secret)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): %w", where, k.Name(), err)
			}
			kr.legacy[k.Prefix] = &legacyKey{Key: k, block: block}
		default:
			return nil, fmt.Errorf("%s (prefix %s): format must be %q or %q, got %q", where, k.Prefix, FormatV2, FormatLegacy, k.Format)
		}
	}
	return kr, nil
}

// Names lists the configured keys by name ("CRM.k1", "WCS"), sorted, for logs.
func (kr *Keyring) Names() []string {
	var names []string
	for n := range kr.v2 {
		names = append(names, n)
	}
	for n := range kr.legacy {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
