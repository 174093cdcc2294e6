package calls

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors for numbers that must never reach a dial string.
var (
	ErrInvalidNumber = errors.New("invalid number")
	ErrNotAllowed    = errors.New("number not allowed for this operator")
)

// MaxNumberLen bounds a dialled number.
const MaxNumberLen = 32

// NormalizeNumber checks a number typed by an operator or sent by a CRM and
// returns it ready for a dial string. Spaces, dashes, dots and parentheses
// that people type are dropped; what remains must be digits with an optional
// leading '+', and '*' / '#'. Anything else (&, /, @, letters, control
// characters) is refused: such characters separate or redirect Asterisk dial
// strings and would let a number choose its own trunk.
func NormalizeNumber(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalidNumber)
	}
	var b strings.Builder
	for i, r := range raw {
		switch {
		case r >= '0' && r <= '9', r == '*', r == '#':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0 && strings.TrimLeft(raw[:i], " ") == "":
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("%w: character %q is not allowed", ErrInvalidNumber, r)
		}
	}
	n := b.String()
	digits := strings.TrimPrefix(n, "+")
	switch {
	case digits == "":
		return "", fmt.Errorf("%w: empty", ErrInvalidNumber)
	case len(n) > MaxNumberLen:
		return "", fmt.Errorf("%w: longer than %d characters", ErrInvalidNumber, MaxNumberLen)
	}
	return n, nil
}
