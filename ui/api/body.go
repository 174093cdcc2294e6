package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// readOnlyFields are fields of responses that a request may not set.
var readOnlyFields = map[string]bool{"created_at": true, "updated_at": true}

var errTrailingData = errors.New("data after the JSON object")

// problem is an error answer not yet written.
type problem struct {
	status int
	ErrorDetail
}

func (p *problem) write(c echo.Context) error {
	return writeError(c, p.status, p.Code, p.Message, p.Fields)
}

func badBody() *problem {
	return &problem{http.StatusBadRequest, ErrorDetail{Code: "bad_request", Message: "the body must be one JSON object"}}
}

func invalidBody(field, why string) *problem {
	return &problem{http.StatusUnprocessableEntity, ErrorDetail{Code: "validation_failed", Message: "invalid body",
		Fields: map[string]string{field: why}}}
}

// readJSON decodes the body, one JSON object with only dst's fields, into
// dst; nil means it did.
func readJSON(c echo.Context, dst any) *problem {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		// Anything after the object makes the body malformed too.
		if _, next := dec.Token(); !errors.Is(next, io.EOF) {
			err = next
			if err == nil {
				err = errTrailingData
			}
		}
	}
	if err == nil {
		return nil
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return &problem{http.StatusRequestEntityTooLarge, ErrorDetail{Code: "body_too_large",
			Message: "the body must be at most " + strconv.Itoa(MaxBodyBytes) + " bytes"}}
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return invalidBody(typeErr.Field, "must be "+kindOf(typeErr.Type.Kind()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; its message names the field.
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			return badBody()
		}
		if readOnlyFields[name] {
			return invalidBody(name, "read-only; leave it out")
		}
		return invalidBody(name, "unknown field")
	}
	return badBody()
}

func kindOf(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "a boolean"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "of another type"
}

// param returns a path parameter decoded. echo hands it over still escaped
// when the request path used escapes other than the default ones.
func param(c echo.Context, name string) string {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// checkText reports what is wrong with an id-like text of 1..max characters
// without control characters, or "" if nothing is.
func checkText(v string, max int) string {
	n := utf8.RuneCountInString(v)
	switch {
	case n == 0:
		return "must not be empty"
	case n > max:
		return "must be at most " + strconv.Itoa(max) + " characters"
	case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
		return "must not contain control characters"
	}
	return ""
}

// checkCharset reports what is wrong with v: 1..max characters of
// [A-Za-z0-9] and the given punctuation.
func checkCharset(v string, max int, punct string) string {
	if v == "" {
		return "must not be empty"
	}
	if len(v) > max {
		return "must be at most " + strconv.Itoa(max) + " characters"
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(punct, r)) {
			return "must contain only letters, digits and " + spaced(punct)
		}
	}
	return ""
}

func spaced(punct string) string {
	parts := make([]string, 0, len(punct))
	for _, r := range punct {
		parts = append(parts, string(r))
	}
	return strings.Join(parts, " ")
}
