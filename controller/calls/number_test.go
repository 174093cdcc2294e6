package calls_test

import (
	"errors"
	"github.com/crmphone/crmphone/controller/calls"
	"strings"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"+1 (555) 123-4567", "+15551234567", true},
		{"89161234567", "89161234567", true},
		{"*72#", "*72#", true},
		{"9901", "9901", true},
		{"  +44 20 7946 0958", "+442079460958", true},
		{"", "", false},
		{"+", "", false},
		{"12&34", "", false},
		{"100/200", "", false},
		{"1001@trunk", "", false},
		{"PJSIP/1001", "", false},
		{"12\x0034", "", false},
		{"12\n34", "", false},
		{"12\r\n34", "", false},
		{"1+2", "", false},
		{"١٢٣", "", false}, // Arabic-Indic digits are not ASCII digits
		{"\xff\xfe", "", false},
		{strings.Repeat("1", 33), "", false},
		{"12,34", "", false},
		{"12;34", "", false},
	}
	for _, tt := range tests {
		got, err := calls.NormalizeNumber(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("calls.NormalizeNumber(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && !errors.Is(err, calls.ErrInvalidNumber) {
			t.Errorf("calls.NormalizeNumber(%q) = %q, %v; want calls.ErrInvalidNumber", tt.in, got, err)
		}
	}
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"+15551234", "12&34", "*#", "a@b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := calls.NormalizeNumber(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(n, "&/@,;|:\\ \t\r\n\x00") || len(n) > calls.MaxNumberLen {
			t.Fatalf("%q normalized to unsafe %q", s, n)
		}
	})
}
