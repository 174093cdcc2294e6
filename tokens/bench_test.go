package tokens

import (
	"context"
	"testing"
	"time"
)

func BenchmarkVerifyV2(b *testing.B) {
	kr := standardKeyring(b)
	tok := mintWith(b, kr, sampleClaims())
	v, err := NewVerifier(kr, alwaysFirst{}, WithClock(func() time.Time { return t0 }))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyLegacy(b *testing.B) {
	kr := standardKeyring(b)
	tok, err := MintLegacy("WCS", mustHex(b, hexLegacy), LegacyRecord{SIPLogin: "1001", SIPPassword: password,
		SIPDomain: "pbx.example.com", SIPOutboundProxy: "10.0.0.5", SIPPort: 5060, Expires: t0.Add(time.Hour),
		OperatorID: "op-17", DisplayName: "Ann"})
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(kr, alwaysFirst{}, WithClock(func() time.Time { return t0 }))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryReplayStore measures MarkUsed with a steady population:
// every id is new and expires after a fixed number of later calls.
func BenchmarkMemoryReplayStore(b *testing.B) {
	now := t0
	s := NewMemoryReplayStore(0, fixedClock(&now))
	ctx := context.Background()
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = newTokenID()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now = now.Add(time.Millisecond)
		if _, err := s.MarkUsed(ctx, ids[i%len(ids)], now.Add(time.Second)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
