package tokens

import "testing"

func TestMatchDialPattern(t *testing.T) {
	tests := []struct {
		pattern, number string
		want            bool
	}{
		{"_8XXXXXXXXXX", "89161234567", true},
		{"_8XXXXXXXXXX", "8916123456", false},   // one digit short
		{"_8XXXXXXXXXX", "891612345678", false}, // one digit long
		{"_8XXXXXXXXXX", "79161234567", false},
		{"_8XXXXXXXXXX", "8916123456#", false},
		{"_+7.", "+79161234567", true},
		{"_+7.", "+7", false}, // '.' needs at least one character
		{"_+7!", "+7", true},  // '!' takes zero
		{"_+7!", "+71", true},
		{"_+7.", "79161234567", false},
		{"_ZXX", "100", true},
		{"_ZXX", "010", false},
		{"_NXX", "200", true},
		{"_NXX", "199", false},
		{"_nxx", "299", true}, // letters are case-insensitive
		{"_1[2-4]X", "130", true},
		{"_1[2-4]X", "150", false},
		{"_1[135]X", "150", true},
		{"_1[135]X", "120", false},
		{"_1[0-2#*]", "1#", true},
		{"_1[0-2#*]", "1*", true},
		{"_1[0-2#*]", "13", false},
		{"_1[2-4X", "13", false}, // unclosed: matches nothing
		{"_1[]", "1]", false},
		{"_*XX#", "*12#", true},
		{"_*XX#", "*12", false},
		{"_8-XXX-XXX", "8123456", true}, // dashes are ignored
		{"_X.", "5", false},             // X takes the digit, "." needs one more
		{"_X.", "55", true},
		{"_X.5", "12", true},   // the rest after '.' is ignored, as in Asterisk
		{"1001", "1001", true}, // no '_': literal
		{"1001", "1002", false},
		{"1XXX", "1234", false}, // literal, not a pattern
		{"_", "", true},
		{"_", "1", false},
		{"_.", "", false},
	}
	for _, tc := range tests {
		if got := MatchDialPattern(tc.pattern, tc.number); got != tc.want {
			t.Errorf("MatchDialPattern(%q, %q) = %v, want %v", tc.pattern, tc.number, got, tc.want)
		}
	}
}

func TestAllowsDial(t *testing.T) {
	restricted := &Claims{DialPatterns: []string{"_8XXXXXXXXXX", "_+7.", "1001"}}
	open := &Claims{}
	var none *Claims
	tests := []struct {
		c      *Claims
		number string
		want   bool
	}{
		{restricted, "89161234567", true},
		{restricted, "+74951234567", true},
		{restricted, "1001", true},
		{restricted, "1002", false},
		{restricted, "+15551234567", false},
		{restricted, "", false},
		{open, "+15551234567", true},
		{open, "", false},
		{none, "1001", false},
	}
	for _, tc := range tests {
		if got := tc.c.AllowsDial(tc.number); got != tc.want {
			t.Errorf("%v.AllowsDial(%q) = %v, want %v", tc.c, tc.number, got, tc.want)
		}
	}
}
