package aritest

import (
	"math"
	"testing"
)

// g722SNR encodes and decodes a tone and returns the signal-to-noise ratio (dB) of the decoded
// audio against the input at the best alignment (the codec's QMF pair adds a fixed delay).
func g722SNR(t *testing.T, freq float64) float64 {
	t.Helper()
	in := GenerateTone(freq, 10000, 16000, 16000)
	enc, dec := NewG722Encoder(), NewG722Decoder()
	coded := enc.Encode(in)
	if len(coded) != len(in)/2 {
		t.Fatalf("coded %d bytes, want %d", len(coded), len(in)/2)
	}
	out := dec.Decode(coded)
	best := math.Inf(-1)
	for delay := 0; delay < 64; delay++ {
		var sig, noise float64
		for i := 4000; i < len(in)-100; i++ {
			s := float64(in[i])
			n := float64(out[i+delay]) - s
			sig += s * s
			noise += n * n
		}
		if snr := 10 * math.Log10(sig/noise); snr > best {
			best = snr
		}
	}
	return best
}

func TestG722RoundTripQuality(t *testing.T) {
	for _, f := range []float64{300, 1000, 3000, 5000, 7000} {
		snr := g722SNR(t, f)
		t.Logf("%v Hz: SNR %.1f dB", f, snr)
		// G.722 at 64 kbit/s reaches well above 20 dB on a clean tone; a wrong table or a
		// mis-ordered QMF output collapses this to a few dB.
		if snr < 20 {
			t.Errorf("%v Hz: SNR %.1f dB, want >= 20", f, snr)
		}
	}
}

func BenchmarkG722Encode20ms(b *testing.B) {
	in := GenerateTone(1000, 8000, 320, 16000)
	enc := NewG722Encoder()
	for b.Loop() {
		enc.Encode(in)
	}
}
