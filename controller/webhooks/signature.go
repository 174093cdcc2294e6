package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of every webhook request.
const (
	HeaderEvent     = "X-Crmphone-Event"
	HeaderDelivery  = "X-Crmphone-Delivery"
	HeaderTimestamp = "X-Crmphone-Timestamp"
	HeaderSignature = "X-Crmphone-Signature"
)

// Verification failures.
var (
	ErrMalformedSignature = errors.New("webhooks: malformed signature header or timestamp")
	ErrStaleTimestamp     = errors.New("webhooks: timestamp outside tolerance")
	ErrBadSignature       = errors.New("webhooks: signature does not match")
)

// Sign returns the X-Crmphone-Signature value for a request:
// "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
func Sign(secret []byte, timestamp string, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify is what the CRM does with a request: it checks that signatureHeader
// holds a v1 signature of timestamp and body under secret (the header may list
// several, comma-separated, while a secret is being rotated) and, when
// tolerance > 0, that timestamp (unix seconds) is within tolerance of now,
// which stops an old request from being replayed.
func Verify(secret []byte, timestamp string, body []byte, signatureHeader string, tolerance time.Duration) error {
	return verifyAt(secret, timestamp, body, signatureHeader, tolerance, time.Now())
}

func verifyAt(secret []byte, timestamp string, body []byte, signatureHeader string, tolerance time.Duration, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || ts <= 0 {
		return ErrMalformedSignature
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
			return ErrStaleTimestamp
		}
	}
	want := mac(secret, timestamp, body)
	found := false
	for part := range strings.SplitSeq(signatureHeader, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		got, err := hex.DecodeString(v)
		if err != nil {
			continue
		}
		found = true
		if hmac.Equal(got, want) {
			return nil
		}
	}
	if !found {
		return ErrMalformedSignature
	}
	return ErrBadSignature
}
