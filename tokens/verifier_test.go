package tokens

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestVerifyV2RoundTrip(t *testing.T) {
	now := t0.Add(time.Minute)
	kr := standardKeyring(t)
	v := newVerifier(t, kr, &now)
	in := sampleClaims()
	in.TokenID = "jti-roundtrip"
	tok := mintWith(t, kr, in)
	if !strings.HasPrefix(tok, "CRM.k2:") {
		t.Fatalf("MintV2 should use the last v2 key CRM.k2, token starts %q", tok[:8])
	}
	got, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := in
	want.SIP = &SIPIdentity{Login: "1001", AuthName: "1001", Password: password, Domain: "pbx.example.com", OutboundProxy: "10.0.0.5", Port: 5060}
	want.KeyName, want.Format = "CRM.k2", FormatV2
	want.IssuedAt, want.ExpiresAt = time.Unix(t0.Unix(), 0), time.Unix(t0.Add(5*time.Minute).Unix(), 0)
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("claims differ:\n got %+v\nwant %+v", *got, want)
	}
	if got.SIP.Password.Reveal() != password {
		t.Fatal("password not carried")
	}
}

func TestMintV2Defaults(t *testing.T) {
	kr := standardKeyring(t)
	c := sampleClaims()
	c.IssuedAt = time.Time{}
	c.ExpiresAt = time.Now().Add(time.Hour)
	a, b := mintWith(t, kr, c), mintWith(t, kr, c)
	now := time.Now()
	v := newVerifier(t, kr, &now)
	ca, err := v.Verify(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := v.Verify(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if ca.TokenID == "" || ca.TokenID == cb.TokenID {
		t.Fatalf("token ids must be random and distinct: %q %q", ca.TokenID, cb.TokenID)
	}
	if ca.IssuedAt.IsZero() {
		t.Fatal("issued-at should default to now")
	}
}

func TestMintV2Errors(t *testing.T) {
	kr := standardKeyring(t)
	legacyOnly := mustKeyring(t, legacyKeyFor(t, "WCS", hexLegacy))
	noExp := sampleClaims()
	noExp.ExpiresAt = time.Time{}
	backwards := sampleClaims()
	backwards.ExpiresAt = backwards.IssuedAt.Add(-time.Second)
	noOp := sampleClaims()
	noOp.OperatorID = ""
	for name, tc := range map[string]struct {
		kr *Keyring
		c  Claims
	}{
		"nil keyring": {nil, sampleClaims()}, "no v2 key": {legacyOnly, sampleClaims()},
		"no exp": {kr, noExp}, "exp before iat": {kr, backwards}, "no operator": {kr, noOp},
	} {
		if _, err := MintV2(tc.kr, tc.c); err == nil {
			t.Errorf("%s: MintV2 succeeded", name)
		} else if strings.Contains(err.Error(), password) {
			t.Errorf("%s: error leaks the password: %v", name, err)
		}
	}
}

// failingStore is a replay store that is down.
type failingStore struct{}

func (failingStore) MarkUsed(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("connection refused")
}

func TestRejections(t *testing.T) {
	kr := standardKeyring(t)
	good := sampleClaims()
	goodTok := mintWith(t, kr, good)
	header := "CRM.k2:"
	body := strings.TrimPrefix(goodTok, header)
	// Same name, other secret: must not authenticate.
	impostor := mustKeyring(t, v2KeyFor(t, "CRM", "k2", hexK1))
	// Two names sharing one secret: the header is bound as AAD, so renaming fails.
	shared := mustKeyring(t, v2KeyFor(t, "CRM", "a", hexK1), v2KeyFor(t, "CRM", "b", hexK1))
	sharedTok := mintWith(t, mustKeyring(t, v2KeyFor(t, "CRM", "a", hexK1)), good)

	expired := good
	expired.IssuedAt, expired.ExpiresAt = t0.Add(-10*time.Minute), t0.Add(-time.Minute)
	future := good
	future.IssuedAt = t0.Add(2 * time.Minute)
	future.ExpiresAt = t0.Add(10 * time.Minute)
	legacyTok, err := MintLegacy("WCS", mustHex(t, hexLegacy), LegacyRecord{SIPLogin: "1001", SIPPassword: password,
		SIPDomain: "pbx.example.com", Expires: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	iv := []byte("0123456789abcdef")
	claimsJSON := func(s string) []byte { return []byte(s) }

	tests := []struct {
		name  string
		token string
		kr    *Keyring
		store ReplayStore
		want  error
	}{
		{"empty", "", kr, nil, ErrMalformed},
		{"no colon", "CRMk2" + body, kr, nil, ErrMalformed},
		{"bad header chars", "CR M.k2:" + body, kr, nil, ErrMalformed},
		{"two dots", "CRM.k2.x:" + body, kr, nil, ErrMalformed},
		{"empty kid", "CRM.:" + body, kr, nil, ErrMalformed},
		{"long header", strings.Repeat("A", 80) + ":" + body, kr, nil, ErrMalformed},
		{"too long", header + strings.Repeat("A", MaxTokenLength), kr, nil, ErrMalformed},
		{"empty body", header, kr, nil, ErrMalformed},
		{"not base64url", header + strings.Replace(body, body[:1], "+", 1), kr, nil, ErrMalformed},
		{"padded base64", header + body + "=", kr, nil, ErrMalformed},
		{"short body", header + body[:20], kr, nil, ErrMalformed},
		{"claims not JSON", sealV2(t, header, hexK2, claimsJSON("op-17 "+password)), kr, nil, ErrMalformed},
		{"claims not object", sealV2(t, header, hexK2, claimsJSON(`["`+password+`"]`)), kr, nil, ErrMalformed},
		{"password as number", sealV2(t, header, hexK2, claimsJSON(`{"jti":"a","exp":1767272400,"operator_id":"o","sip":{"login":"1","domain":"d","password":987654321987}}`)), kr, nil, ErrMalformed},
		{"number overflow", sealV2(t, header, hexK2, claimsJSON(`{"jti":"a","exp":1767272400,"operator_id":"o","sip":{"login":"1","domain":"d","port":987654321987654321987}}`)), kr, nil, ErrMalformed},
		{"missing exp", sealV2(t, header, hexK2, claimsJSON(`{"jti":"a","operator_id":"o"}`)), kr, nil, ErrMalformed},
		{"exp in ms", sealV2(t, header, hexK2, claimsJSON(`{"jti":"a","operator_id":"o","exp":1767272400000}`)), kr, nil, ErrMalformed},
		{"missing jti", sealV2(t, header, hexK2, claimsJSON(`{"operator_id":"o","exp":1767272400}`)), kr, nil, ErrMalformed},
		{"missing operator", sealV2(t, header, hexK2, claimsJSON(`{"jti":"a","exp":1767272400}`)), kr, nil, ErrMalformed},
		{"sip without domain", sealV2(t, header, hexK2, claimsJSON(`{"jti":"a","operator_id":"o","exp":1767272400,"sip":{"login":"1","password":"`+password+`"}}`)), kr, nil, ErrMalformed},
		{"legacy odd hex", "WCS:" + strings.Repeat("a", 41), kr, nil, ErrMalformed},
		{"legacy not hex", "WCS:" + strings.Repeat("g", 40), kr, nil, ErrMalformed},
		{"legacy IV only", "WCS:" + strings.Repeat("ab", 16), kr, nil, ErrMalformed},
		{"unknown kid", "CRM.k9:" + body, kr, nil, ErrUnknownKey},
		{"unknown prefix", "XYZ.k2:" + body, kr, nil, ErrUnknownKey},
		{"legacy shape for v2 prefix", "CRM:" + strings.TrimPrefix(legacyTok, "WCS:"), kr, nil, ErrUnknownKey},
		{"unknown legacy prefix", "NOPE:" + strings.TrimPrefix(legacyTok, "WCS:"), kr, nil, ErrUnknownKey},
		{"v2 shape for legacy prefix", "WCS.k1:" + body, kr, nil, ErrUnknownKey},
		{"wrong secret same name", goodTok, impostor, nil, ErrBadToken},
		{"kid renamed, same secret", "CRM.b:" + strings.TrimPrefix(sharedTok, "CRM.a:"), shared, nil, ErrBadToken},
		{"tag flipped", header + body[:len(body)-2] + map[bool]string{true: "AA", false: "BB"}[body[len(body)-2:] != "AA"], kr, nil, ErrBadToken},
		{"issued in the future", mintWith(t, kr, future), kr, nil, ErrBadToken},
		{"legacy wrong key", legacyTok, mustKeyring(t, legacyKeyFor(t, "WCS", "ffeeddccbbaa99887766554433221100")), nil, ErrBadToken},
		{"legacy no sip_login", sealLegacy(t, "WCS", hexLegacy, iv, []byte(`<token><sip_domain>d</sip_domain><sip_password>`+password+`</sip_password><expires>1767272400000</expires></token>`)), kr, nil, ErrBadToken},
		{"legacy bad port", sealLegacy(t, "WCS", hexLegacy, iv, []byte(`<token><sip_login>1</sip_login><sip_domain>d</sip_domain><sip_port>`+password+`</sip_port><expires>1767272400000</expires></token>`)), kr, nil, ErrBadToken},
		{"legacy two records", sealLegacy(t, "WCS", hexLegacy, iv, []byte(`<a><sip_login>1</sip_login><sip_domain>d</sip_domain><expires>1767272400000</expires></a><b/>`)), kr, nil, ErrBadToken},
		{"legacy text", sealLegacy(t, "WCS", hexLegacy, iv, []byte(password)), kr, nil, ErrBadToken},
		{"expired", mintWith(t, kr, expired), kr, nil, ErrExpired},
		{"legacy expired", sealLegacy(t, "WCS", hexLegacy, iv, []byte(`<token><sip_login>1</sip_login><sip_domain>d</sip_domain><expires>1000</expires></token>`)), kr, nil, ErrExpired},
		{"replay store down", mintWith(t, kr, good), kr, failingStore{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			store := tc.store
			if store == nil {
				store = NewMemoryReplayStore(0, fixedClock(&now))
			}
			v, err := NewVerifier(tc.kr, store, WithClock(fixedClock(&now)))
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(context.Background(), tc.token)
			if err == nil {
				t.Fatalf("accepted: %v", c)
			}
			wantCode := "internal"
			if tc.want != nil {
				wantCode = Code(tc.want)
				if !errors.Is(err, tc.want) {
					t.Fatalf("error %q does not wrap %q", err, tc.want)
				}
			}
			if got := Code(err); got != wantCode {
				t.Fatalf("Code = %q, want %q (err %v)", got, wantCode, err)
			}
			assertNoSecrets(t, err.Error(), tc.token)
			t.Logf("%s: %v", Code(err), err)
		})
	}
}

func TestReplayed(t *testing.T) {
	now := t0
	kr := standardKeyring(t)
	v := newVerifier(t, kr, &now)
	tok := mintWith(t, kr, sampleClaims())
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(context.Background(), tok)
	if !errors.Is(err, ErrReplayed) || Code(err) != "replayed" {
		t.Fatalf("second use: %v (code %q)", err, Code(err))
	}
	assertNoSecrets(t, err.Error(), tok)

	// A rejected token is not remembered: a later valid use still works.
	other := sampleClaims()
	other.TokenID = "later"
	tok2 := mintWith(t, kr, other)
	if _, err := v.Verify(context.Background(), tok2[:len(tok2)-1]); err == nil {
		t.Fatal("truncated token accepted")
	}
	if _, err := v.Verify(context.Background(), tok2); err != nil {
		t.Fatalf("valid token after a rejected variant: %v", err)
	}
}

func TestReplayIDsArePerPrefix(t *testing.T) {
	now := t0
	kr := mustKeyring(t, v2KeyFor(t, "CRM", "k1", hexK1), v2KeyFor(t, "SHOP", "k1", hexK2))
	v := newVerifier(t, kr, &now)
	c := sampleClaims()
	c.TokenID = "1" // two CRMs that both count their token ids from 1
	crm := mintWith(t, mustKeyring(t, v2KeyFor(t, "CRM", "k1", hexK1)), c)
	shop := mintWith(t, kr, c)
	for _, tok := range []string{crm, shop} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("%s: %v", tok[:7], err)
		}
	}
	if _, err := v.Verify(context.Background(), shop); !errors.Is(err, ErrReplayed) {
		t.Fatalf("same prefix, same jti again: %v", err)
	}
}

func TestLegacyReplayIgnoresHexCase(t *testing.T) {
	now := t0
	kr := standardKeyring(t)
	v := newVerifier(t, kr, &now)
	tok, err := MintLegacy("WCS", mustHex(t, hexLegacy), LegacyRecord{SIPLogin: "1001", SIPDomain: "d", Expires: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	upper := "WCS:" + strings.ToUpper(strings.TrimPrefix(tok, "WCS:"))
	if _, err := v.Verify(context.Background(), upper); !errors.Is(err, ErrReplayed) {
		t.Fatalf("same legacy token in uppercase: %v, want replayed", err)
	}
}

func TestTamperEveryByte(t *testing.T) {
	now := t0
	kr := standardKeyring(t)
	c := sampleClaims()
	c.TokenID = "tamper"
	tok := mintWith(t, kr, c)
	v := newVerifier(t, kr, &now)
	replacements := func(b byte) []byte { return []byte{b ^ 0x01, b ^ 0x20, 'A', '0', ':', '.'} }
	tried := 0
	for i := 0; i < len(tok); i++ {
		for _, r := range replacements(tok[i]) {
			if r == tok[i] {
				continue
			}
			bad := tok[:i] + string(r) + tok[i+1:]
			tried++
			if claims, err := v.Verify(context.Background(), bad); err == nil {
				t.Fatalf("byte %d changed %q->%q: accepted %v", i, tok[i], r, claims)
			} else if code := Code(err); code != "malformed" && code != "unknown_key" && code != "bad_token" {
				t.Fatalf("byte %d changed: code %q (%v)", i, code, err)
			}
		}
	}
	// The untouched token still verifies: the loop above did not consume it.
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("original after %d tampered variants: %v", tried, err)
	}
}

func TestClockSkew(t *testing.T) {
	kr := standardKeyring(t)
	exp := t0.Add(5 * time.Minute)
	tests := []struct {
		name string
		skew *time.Duration
		iat  time.Time
		now  time.Time
		want string
	}{
		{"before expiry", nil, t0, exp.Add(-time.Second), ""},
		{"at expiry", nil, t0, exp, ""},
		{"inside default skew", nil, t0, exp.Add(29 * time.Second), ""},
		{"past default skew", nil, t0, exp.Add(31 * time.Second), "expired"},
		{"zero skew", ptr(time.Duration(0)), t0, exp.Add(time.Second), "expired"},
		{"wide skew", ptr(2 * time.Minute), t0, exp.Add(time.Minute), ""},
		{"iat ahead within skew", nil, t0, t0.Add(-20 * time.Second), ""},
		{"iat ahead past skew", nil, t0, t0.Add(-40 * time.Second), "bad_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := sampleClaims()
			c.IssuedAt, c.ExpiresAt = tc.iat, exp
			tok := mintWith(t, kr, c)
			now := tc.now
			var opts []Option
			if tc.skew != nil {
				opts = append(opts, WithClockSkew(*tc.skew))
			}
			_, err := newVerifier(t, kr, &now, opts...).Verify(context.Background(), tok)
			if got := Code(err); got != tc.want {
				t.Fatalf("code %q, want %q (err %v)", got, tc.want, err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestKeyRotation(t *testing.T) {
	now := t0
	old := mustKeyring(t, v2KeyFor(t, "CRM", "k1", hexK1))
	both := standardKeyring(t) // k1 then k2: mints with k2
	tokOld, tokNew := mintWith(t, old, sampleClaims()), mintWith(t, both, sampleClaims())
	if !strings.HasPrefix(tokOld, "CRM.k1:") || !strings.HasPrefix(tokNew, "CRM.k2:") {
		t.Fatalf("headers: %q %q", tokOld[:7], tokNew[:7])
	}
	v := newVerifier(t, both, &now)
	for _, tok := range []string{tokOld, tokNew} {
		c, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Fatalf("%s: %v", tok[:7], err)
		}
		if c.KeyName != tok[:6] {
			t.Fatalf("KeyName %q for %s", c.KeyName, tok[:7])
		}
	}
	// Once k1 is retired its tokens are unknown.
	retired := newVerifier(t, mustKeyring(t, v2KeyFor(t, "CRM", "k2", hexK2)), &now)
	if _, err := retired.Verify(context.Background(), tokOld); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("retired key: %v", err)
	}
}

func TestLegacyRoundTripAndRootName(t *testing.T) {
	now := t0
	kr := standardKeyring(t)
	tok, err := MintLegacy("WCS", mustHex(t, hexLegacy), LegacyRecord{SIPLogin: "1001", SIPPassword: "p<&>\"'", SIPDomain: "pbx.example.com",
		SIPOutboundProxy: "10.0.0.5", SIPPort: 5060, Expires: t0.Add(time.Hour), OperatorID: "op-17", DisplayName: "Ann & Bob"})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, kr, &now)
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	want := &SIPIdentity{Login: "1001", AuthName: "1001", Password: "p<&>\"'", Domain: "pbx.example.com", OutboundProxy: "10.0.0.5", Port: 5060}
	if !reflect.DeepEqual(c.SIP, want) || c.OperatorID != "op-17" || c.DisplayName != "Ann & Bob" ||
		!c.ExpiresAt.Equal(t0.Add(time.Hour)) || c.Format != FormatLegacy || c.KeyName != "WCS" || !strings.HasPrefix(c.TokenID, "legacy-") {
		t.Fatalf("claims %+v sip %+v", c, c.SIP)
	}

	// Any root element name, a prolog, white space and no operator_id.
	plain := `<?xml version="1.0"?>` + "\n" + `<loginToken> <sip_login>2002</sip_login><sip_domain>d</sip_domain><expires>` +
		fmt.Sprint(t0.Add(time.Hour).UnixMilli()) + `</expires></loginToken>` + "\n<!-- end -->\n"
	c, err = v.Verify(context.Background(), sealLegacy(t, "WCS", hexLegacy, []byte("fedcba9876543210"), []byte(plain)))
	if err != nil {
		t.Fatal(err)
	}
	if c.OperatorID != "2002" || c.SIP.AuthName != "2002" || c.SIP.Port != 0 {
		t.Fatalf("fallbacks: %+v %+v", c, c.SIP)
	}
}

func TestMintLegacyErrors(t *testing.T) {
	rec := LegacyRecord{SIPLogin: "1", SIPDomain: "d", Expires: t0, SIPPassword: password}
	for name, f := range map[string]func() (string, error){
		"bad prefix": func() (string, error) { return MintLegacy("W:S", mustHex(t, hexLegacy), rec) },
		"short key":  func() (string, error) { return MintLegacy("WCS", []byte("short"), rec) },
		"missing data": func() (string, error) {
			return MintLegacy("WCS", mustHex(t, hexLegacy), LegacyRecord{SIPPassword: password})
		},
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: minted", name)
		} else {
			assertNoSecrets(t, err.Error(), "")
		}
	}
}

func TestNewVerifierErrors(t *testing.T) {
	kr := standardKeyring(t)
	store := NewMemoryReplayStore(1, nil)
	for name, f := range map[string]func() (*Verifier, error){
		"no keyring":    func() (*Verifier, error) { return NewVerifier(nil, store) },
		"no store":      func() (*Verifier, error) { return NewVerifier(kr, nil) },
		"nil clock":     func() (*Verifier, error) { return NewVerifier(kr, store, WithClock(nil)) },
		"negative skew": func() (*Verifier, error) { return NewVerifier(kr, store, WithClockSkew(-time.Second)) },
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCode(t *testing.T) {
	for err, want := range map[error]string{
		nil: "", ErrMalformed: "malformed", ErrUnknownKey: "unknown_key", ErrBadToken: "bad_token",
		ErrExpired: "expired", ErrReplayed: "replayed", errors.New("x"): "internal",
		fmt.Errorf("outer: %w", reject(ErrExpired, "detail")): "expired", context.Canceled: "internal",
	} {
		if got := Code(err); got != want {
			t.Errorf("Code(%v) = %q, want %q", err, got, want)
		}
	}
}

// assertNoSecrets fails if text contains the token, its body, any test key
// (hex in either case) or the test SIP password.
func assertNoSecrets(t *testing.T, text, token string) {
	t.Helper()
	secrets := []string{password, hexK1, hexK2, hexLegacy, strings.ToUpper(hexK1), strings.ToUpper(hexK2), strings.ToUpper(hexLegacy),
		"987654321987"}
	if token != "" {
		secrets = append(secrets, token)
		if _, body, ok := strings.Cut(token, ":"); ok && len(body) >= 8 {
			secrets = append(secrets, body)
		}
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Fatalf("text leaks a secret (%d bytes): %s", len(s), text)
		}
	}
}
