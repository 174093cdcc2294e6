package tokens

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"
)

// Fixed test keys. The v2 secrets differ in every byte, so a test that finds
// one of them in an error text is not fooled by a shared substring.
const (
	hexK1     = "8f2a61c0d4b7e3195a0c6e2f7b9d4a13c5e8f1027a4b6d9e0c3f5a7b9d1e2f40"
	hexK2     = "17e4b2a9c06d58f3e1a2b4c6d8e0f21436587a9cbedf0123456789abcdef0fed"
	hexLegacy = "00112233445566778899aabbccddeeff"
	password  = "s3cr3t-Pa55word"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := ParseKeyHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func v2KeyFor(t testing.TB, prefix, id, secretHex string) Key {
	return Key{Prefix: prefix, ID: id, Format: FormatV2, Secret: mustHex(t, secretHex)}
}

func legacyKeyFor(t testing.TB, prefix, secretHex string) Key {
	return Key{Prefix: prefix, Format: FormatLegacy, Secret: mustHex(t, secretHex)}
}

func mustKeyring(t testing.TB, keys ...Key) *Keyring {
	t.Helper()
	kr, err := NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// standardKeyring has v2 keys CRM.k1 and CRM.k2 and the legacy prefix WCS.
func standardKeyring(t testing.TB) *Keyring {
	return mustKeyring(t, v2KeyFor(t, "CRM", "k1", hexK1), v2KeyFor(t, "CRM", "k2", hexK2), legacyKeyFor(t, "WCS", hexLegacy))
}

func fixedClock(now *time.Time) func() time.Time { return func() time.Time { return *now } }

func newVerifier(t testing.TB, kr *Keyring, now *time.Time, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(kr, NewMemoryReplayStore(0, fixedClock(now)), append([]Option{WithClock(fixedClock(now))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sampleClaims() Claims {
	return Claims{
		OperatorID:  "op-17",
		DisplayName: "Ann",
		SIP: &SIPIdentity{Login: "1001", Password: password, Domain: "pbx.example.com",
			OutboundProxy: "10.0.0.5", Port: 5060},
		Extension:    "1001",
		DialPatterns: []string{"_8XXXXXXXXXX", "_+7."},
		IssuedAt:     t0,
		ExpiresAt:    t0.Add(5 * time.Minute),
	}
}

func mintWith(t testing.TB, kr *Keyring, c Claims) string {
	t.Helper()
	tok, err := MintV2(kr, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// sealV2 builds a v2 token around an arbitrary plaintext, to reach the claims
// parser with content MintV2 would never produce.
func sealV2(t testing.TB, header string, secretHex string, plaintext []byte) string {
	t.Helper()
	block, err := aes.NewCipher(mustHex(t, secretHex))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 12)
	nonce[0] = byte(len(plaintext)) // deterministic is fine for tests
	return header + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plaintext, []byte(header)))
}

// sealLegacy builds a legacy token around an arbitrary plaintext.
func sealLegacy(t testing.TB, prefix, secretHex string, iv, plaintext []byte) string {
	t.Helper()
	block, err := aes.NewCipher(mustHex(t, secretHex))
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(plaintext))
	cipher.NewCTR(block, iv).XORKeyStream(ct, plaintext)
	return prefix + ":" + hex.EncodeToString(iv) + hex.EncodeToString(ct)
}
