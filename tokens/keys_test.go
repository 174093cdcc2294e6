package tokens

import (
	"strings"
	"testing"
)

func TestParseKeyHex(t *testing.T) {
	tests := []struct {
		in      string
		wantLen int // -1: error
	}{
		{hexK1, 32},
		{strings.ToUpper(hexLegacy), 16},
		{"  " + hexLegacy + "\n", 16},
		{"", -1},
		{"abc", -1},
		{"zz" + hexLegacy[2:], -1},
		{"0x" + hexLegacy, -1},
	}
	for _, tc := range tests {
		b, err := ParseKeyHex(tc.in)
		switch {
		case tc.wantLen < 0 && err == nil:
			t.Errorf("ParseKeyHex(%q) accepted", tc.in)
		case tc.wantLen < 0:
			if strings.Contains(err.Error(), tc.in[min(2, len(tc.in)):]) && len(tc.in) > 4 {
				t.Errorf("error quotes the key: %v", err)
			}
		case err != nil:
			t.Errorf("ParseKeyHex(%q): %v", tc.in, err)
		case len(b) != tc.wantLen:
			t.Errorf("ParseKeyHex(%q): %d bytes, want %d", tc.in, len(b), tc.wantLen)
		}
	}
}

func TestNewKeyringErrors(t *testing.T) {
	k1 := v2KeyFor(t, "CRM", "k1", hexK1)
	tests := []struct {
		name string
		keys []Key
		want string // substring of the error
	}{
		{"v2 short secret", []Key{{Prefix: "CRM", ID: "k1", Format: FormatV2, Secret: mustHex(t, hexLegacy)}}, "32 bytes"},
		{"legacy odd length", []Key{{Prefix: "WCS", Format: FormatLegacy, Secret: make([]byte, 20)}}, "16, 24 or 32"},
		{"legacy with id", []Key{{Prefix: "WCS", ID: "x", Format: FormatLegacy, Secret: mustHex(t, hexLegacy)}}, "no id"},
		{"v2 without id", []Key{{Prefix: "CRM", Format: FormatV2, Secret: mustHex(t, hexK1)}}, "need an id"},
		{"id with dot", []Key{{Prefix: "CRM", ID: "k.1", Format: FormatV2, Secret: mustHex(t, hexK1)}}, "need an id"},
		{"prefix with colon", []Key{{Prefix: "CR:M", ID: "k1", Format: FormatV2, Secret: mustHex(t, hexK1)}}, "prefix"},
		{"empty prefix", []Key{{ID: "k1", Format: FormatV2, Secret: mustHex(t, hexK1)}}, "prefix"},
		{"unknown format", []Key{{Prefix: "CRM", ID: "k1", Format: "v3", Secret: mustHex(t, hexK1)}}, "format"},
		{"duplicate v2", []Key{k1, v2KeyFor(t, "CRM", "k1", hexK2)}, "duplicate"},
		{"duplicate legacy", []Key{legacyKeyFor(t, "WCS", hexLegacy), legacyKeyFor(t, "WCS", hexLegacy)}, "duplicate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewKeyring(tc.keys)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q lacks %q", err, tc.want)
			}
			assertNoSecrets(t, err.Error(), "")
		})
	}
}

func TestKeyringCopiesSecretsAndNames(t *testing.T) {
	secret := mustHex(t, hexK1)
	kr := mustKeyring(t, Key{Prefix: "CRM", ID: "k1", Format: FormatV2, Secret: secret}, legacyKeyFor(t, "WCS", hexLegacy))
	tok := mintWith(t, kr, sampleClaims())
	for i := range secret {
		secret[i] = 0 // the caller wiping its copy must not change the keyring
	}
	now := t0
	if _, err := newVerifier(t, kr, &now).Verify(t.Context(), tok); err != nil {
		t.Fatalf("keyring shares the caller's secret slice: %v", err)
	}
	if got := strings.Join(kr.Names(), ","); got != "CRM.k1,WCS" {
		t.Fatalf("Names = %s", got)
	}
}
