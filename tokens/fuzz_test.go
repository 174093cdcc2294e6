package tokens

import (
	"context"
	"strings"
	"testing"
	"time"
)

// alwaysFirst is a replay store that remembers nothing, so fuzzing and
// benchmarks measure parsing and crypto, not a growing map.
type alwaysFirst struct{}

func (alwaysFirst) MarkUsed(context.Context, string, time.Time) (bool, error) { return true, nil }

func fuzzVerifier(f *testing.F) *Verifier {
	kr := standardKeyring(f)
	v, err := NewVerifier(kr, alwaysFirst{}, WithClock(func() time.Time { return t0 }))
	if err != nil {
		f.Fatal(err)
	}
	return v
}

var knownCodes = map[string]bool{"": true, "malformed": true, "unknown_key": true, "bad_token": true, "expired": true, "replayed": true}

// checkOutcome is what must hold for any input: no panic (implicit), a known
// code, claims exactly when there is no error, and no secret in the error.
func checkOutcome(t *testing.T, token string, c *Claims, err error) {
	t.Helper()
	if !knownCodes[Code(err)] {
		t.Fatalf("unexpected code %q: %v", Code(err), err)
	}
	if (err == nil) != (c != nil) {
		t.Fatalf("claims %v with error %v", c, err)
	}
	if err != nil {
		assertNoSecrets(t, err.Error(), "")
		if len(token) >= 24 && strings.Contains(err.Error(), token) {
			t.Fatalf("error quotes the token: %v", err)
		}
		return
	}
	if c.OperatorID == "" || c.TokenID == "" || c.ExpiresAt.IsZero() {
		t.Fatalf("accepted claims lack required fields: %v", c)
	}
}

// FuzzParseV2 feeds the fuzzer's bytes both as a whole token and as the
// plaintext of a correctly sealed v2 token, which reaches the claims parser.
func FuzzParseV2(f *testing.F) {
	v := fuzzVerifier(f)
	good := sampleClaims()
	f.Add([]byte(mintWith(f, standardKeyring(f), good)))
	f.Add([]byte(`{"jti":"a","iat":1767268800,"exp":1767272400,"operator_id":"o","sip":{"login":"1","domain":"d","port":5060},"dial_patterns":["_X."]}`))
	f.Add([]byte(`{"jti":"a","exp":1767272400000,"operator_id":"o"}`))
	f.Add([]byte(`{"sip":{"password":12345}}`))
	f.Add([]byte("CRM.k1:AAAA"))
	f.Add([]byte("CRM.k1:"))
	f.Add([]byte(":"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := v.Verify(context.Background(), string(data))
		checkOutcome(t, string(data), c, err)

		sealed := sealV2(t, "CRM.k1:", hexK1, data)
		c, err = v.Verify(context.Background(), sealed)
		checkOutcome(t, sealed, c, err)
		if err == nil && c.KeyName != "CRM.k1" {
			t.Fatalf("KeyName %q", c.KeyName)
		}
	})
}

// FuzzParseLegacy does the same for legacy tokens and their XML records.
func FuzzParseLegacy(f *testing.F) {
	v := fuzzVerifier(f)
	tok, err := MintLegacy("WCS", mustHex(f, hexLegacy), LegacyRecord{SIPLogin: "1001", SIPPassword: password, SIPDomain: "d", Expires: t0.Add(time.Hour)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(tok))
	f.Add([]byte(`<token><sip_login>1001</sip_login><sip_domain>d</sip_domain><sip_port>5060</sip_port><expires>1767272400000</expires></token>`))
	f.Add([]byte(`<?xml version="1.0"?><x><sip_login>1</sip_login><sip_domain>d</sip_domain><expires>1767272400000</expires></x><!-- c -->`))
	f.Add([]byte(`<a><b><c></c></b></a>trailing`))
	f.Add([]byte("WCS:00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := v.Verify(context.Background(), string(data))
		checkOutcome(t, string(data), c, err)

		sealed := sealLegacy(t, "WCS", hexLegacy, []byte("0123456789abcdef"), data)
		c, err = v.Verify(context.Background(), sealed)
		checkOutcome(t, sealed, c, err)
		if err == nil && c.SIP == nil {
			t.Fatal("legacy claims without SIP identity")
		}
	})
}

// FuzzMatchDialPattern: the matcher must never panic or loop, and a pattern
// without '_' must be plain equality.
func FuzzMatchDialPattern(f *testing.F) {
	f.Add("_8XXXXXXXXXX", "89161234567")
	f.Add("_1[2-4", "13")
	f.Add("_[", "")
	f.Add("1001", "1001")
	f.Fuzz(func(t *testing.T, pattern, number string) {
		got := MatchDialPattern(pattern, number)
		if !strings.HasPrefix(pattern, "_") && got != (pattern == number) {
			t.Fatalf("literal %q vs %q = %v", pattern, number, got)
		}
	})
}
