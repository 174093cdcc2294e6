package g711

import (
	"math"
	"testing"
)

func TestSilenceEncodings(t *testing.T) {
	if got := EncodeULaw(0); got != ULawSilence {
		t.Errorf("EncodeULaw(0) = %#x, want %#x", got, ULawSilence)
	}
	if got := EncodeALaw(0); got != ALawSilence {
		t.Errorf("EncodeALaw(0) = %#x, want %#x", got, ALawSilence)
	}
	if got := DecodeULaw(ULawSilence); got != 0 {
		t.Errorf("DecodeULaw(silence) = %d, want 0", got)
	}
	if got := DecodeALaw(ALawSilence); got < -8 || got > 8 {
		t.Errorf("DecodeALaw(silence) = %d, want within ±8", got)
	}
}

func TestRoundTripErrorIsLogarithmic(t *testing.T) {
	tests := []struct {
		name   string
		encode func(int16) byte
		decode func(byte) int16
	}{
		{"ulaw", EncodeULaw, DecodeULaw},
		{"alaw", EncodeALaw, DecodeALaw},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for s := -32768; s <= 32767; s += 7 {
				got := int(tc.decode(tc.encode(int16(s))))
				tolerance := math.Max(40, math.Abs(float64(s))/14) // G.711 steps are ~1/16 of the magnitude
				if math.Abs(float64(got-s)) > tolerance {
					t.Fatalf("sample %d decoded as %d (error > %.0f)", s, got, tolerance)
				}
				if s > 100 && got < 0 || s < -100 && got > 0 {
					t.Fatalf("sign lost: %d -> %d", s, got)
				}
			}
		})
	}
}

func TestAllCodesDecodeEncodeStable(t *testing.T) {
	for b := 0; b < 256; b++ {
		if got := EncodeULaw(DecodeULaw(byte(b))); DecodeULaw(got) != DecodeULaw(byte(b)) {
			t.Errorf("ulaw code %#x not stable: re-encoded %#x", b, got)
		}
		if got := EncodeALaw(DecodeALaw(byte(b))); got != byte(b) {
			t.Errorf("alaw code %#x not stable: re-encoded %#x", b, got)
		}
	}
}

func TestGoertzelFindsToneThroughULaw(t *testing.T) {
	tone := NewTone(1000, 8000, 8000)
	pcm := make([]int16, 1600)
	tone.Fill(pcm)
	enc := EncodeULawFrame(make([]byte, len(pcm)), pcm)
	dec := DecodeULawFrame(make([]int16, len(enc)), enc)
	if f := DominantFrequency(dec, 8000, 400, 440, 1000, 2000); f != 1000 {
		t.Fatalf("dominant frequency %v, want 1000", f)
	}
	if rms := RMS(dec); math.Abs(rms-8000/math.Sqrt2) > 200 {
		t.Fatalf("rms %.0f, want about %.0f", rms, 8000/math.Sqrt2)
	}
	if p := GoertzelPower(make([]int16, 800), 1000, 8000); p != 0 {
		t.Fatalf("power of silence %v, want 0", p)
	}
}
