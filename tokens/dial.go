package tokens

import "strings"

// AllowsDial reports whether the token lets the operator dial number: true
// when the token carries no dial patterns, otherwise when any pattern matches
// (MatchDialPattern). An empty number is never allowed.
func (c *Claims) AllowsDial(number string) bool {
	if c == nil || number == "" {
		return false
	}
	if len(c.DialPatterns) == 0 {
		return true
	}
	for _, p := range c.DialPatterns {
		if MatchDialPattern(p, number) {
			return true
		}
	}
	return false
}

// MatchDialPattern matches number against one Asterisk extension pattern.
// Without a leading '_' the pattern is a literal number that must be equal.
// After '_':
//
//	X   any digit 0-9          Z   1-9          N   2-9   (case-insensitive)
//	[…] one character from the set: single characters and ranges, e.g. [1-5#]
//	.   one or more characters of any kind; the rest of the pattern is ignored
//	!   zero or more characters of any kind; the rest of the pattern is ignored
//	-   ignored (readability, as in Asterisk: _8-XXX-XXX-XX-XX)
//
// anything else ('0'-'9', '+', '*', '#', letters) matches itself. A malformed
// pattern (an unclosed or empty '[') matches nothing.
func MatchDialPattern(pattern, number string) bool {
	p, ok := strings.CutPrefix(pattern, "_")
	if !ok {
		return pattern == number
	}
	j := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '.':
			return j < len(number)
		case '!':
			return true
		case '-':
			continue
		}
		if j >= len(number) {
			return false
		}
		d := number[j]
		var match bool
		switch c {
		case 'X', 'x':
			match = '0' <= d && d <= '9'
		case 'Z', 'z':
			match = '1' <= d && d <= '9'
		case 'N', 'n':
			match = '2' <= d && d <= '9'
		case '[':
			end := strings.IndexByte(p[i+1:], ']')
			if end <= 0 {
				return false
			}
			match = inCharSet(p[i+1:i+1+end], d)
			i += end + 1
		default:
			match = c == d
		}
		if !match {
			return false
		}
		j++
	}
	return j == len(number)
}

// inCharSet reports whether d is in a bracket set such as "1-5#" (without brackets).
func inCharSet(set string, d byte) bool {
	for k := 0; k < len(set); k++ {
		if k+2 < len(set) && set[k+1] == '-' {
			if set[k] <= d && d <= set[k+2] {
				return true
			}
			k += 2
			continue
		}
		if set[k] == d {
			return true
		}
	}
	return false
}
