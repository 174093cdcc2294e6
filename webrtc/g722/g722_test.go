package g722

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

const sampleRate = 16000

// codecDelay is the encoder+decoder delay in 16 kHz samples (the QMF pair; ADPCM adds none).
const codecDelay = 22

func sine(freq, amp float64, rate, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return out
}

func roundTrip(pcm []int16) []int16 {
	enc, dec := NewEncoder(), NewDecoder()
	return dec.Decode(nil, enc.Encode(nil, pcm))
}

// goertzelPower is the power of x at freq (Hz) for the given sample rate.
func goertzelPower(x []int16, freq float64, rate int) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// dominantFrequency scans candidates every 10 Hz up to Nyquist, then refines around the best one
// in 0.5 Hz steps.
func dominantFrequency(x []int16, rate int) float64 {
	best, bestP := 0.0, -1.0
	for f := 50.0; f < float64(rate)/2-50; f += 10 {
		if p := goertzelPower(x, f, rate); p > bestP {
			best, bestP = f, p
		}
	}
	coarse := best
	for f := coarse - 10; f <= coarse+10; f += 0.5 {
		if p := goertzelPower(x, f, rate); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

// alignedSNR finds the lag (0..64 samples) that best aligns out with in by cross-correlation
// and returns that lag and the SNR in dB of out against in, skipping the first skip samples
// while the codec's adaptation settles.
func alignedSNR(in, out []int16, skip int) (int, float64) {
	const maxLag = 64
	n := len(in) - maxLag
	bestLag, bestCorr := 0, math.Inf(-1)
	for lag := 0; lag <= maxLag; lag++ {
		var c float64
		for i := skip; i < n; i++ {
			c += float64(in[i]) * float64(out[i+lag])
		}
		if c > bestCorr {
			bestLag, bestCorr = lag, c
		}
	}
	var sig, noise float64
	for i := skip; i < n; i++ {
		e := float64(out[i+bestLag]) - float64(in[i])
		sig += float64(in[i]) * float64(in[i])
		noise += e * e
	}
	return bestLag, 10 * math.Log10(sig/noise)
}

func rms(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

func TestRoundTripTones(t *testing.T) {
	tests := []struct {
		freq   float64
		minSNR float64
	}{
		{440, 20},
		{1000, 20},
		{3000, 20},
		{6000, 10}, // higher sub-band (4..8 kHz), coded with only 2 bits per sample
	}
	for _, tc := range tests {
		in := sine(tc.freq, 8000, sampleRate, sampleRate)
		out := roundTrip(in)
		if len(out) != len(in) {
			t.Fatalf("%v Hz: decoded %d samples, want %d", tc.freq, len(out), len(in))
		}
		if got := dominantFrequency(out, sampleRate); math.Abs(got-tc.freq) > 5 {
			t.Errorf("%v Hz: dominant decoded frequency %v Hz", tc.freq, got)
		}
		lag, snr := alignedSNR(in, out, 800)
		t.Logf("%5v Hz: delay %d samples, SNR %.1f dB, output RMS %.0f (input %.0f)",
			tc.freq, lag, snr, rms(out[800:]), rms(in[800:]))
		if snr < tc.minSNR {
			t.Errorf("%v Hz: SNR %.1f dB, want > %v dB", tc.freq, snr, tc.minSNR)
		}
	}
}

// TestChirpDelay sweeps 100 Hz..7 kHz so that the alignment is unambiguous (a pure tone aligns
// at any whole number of periods) and checks the codec's fixed delay and wide-band quality.
func TestChirpDelay(t *testing.T) {
	const n = sampleRate
	in := make([]int16, n)
	f0, f1 := 100.0, 7000.0
	for i := range in {
		tt := float64(i) / sampleRate
		phase := 2 * math.Pi * (f0*tt + (f1-f0)*tt*tt/2)
		in[i] = int16(8000 * math.Sin(phase))
	}
	out := roundTrip(in)
	lag, snr := alignedSNR(in, out, 800)
	t.Logf("chirp 100..7000 Hz: delay %d samples, SNR %.1f dB", lag, snr)
	if lag != codecDelay {
		t.Errorf("delay %d samples, want %d", lag, codecDelay)
	}
	if snr < 15 {
		t.Errorf("chirp SNR %.1f dB, want > 15 dB", snr)
	}
}

func TestSilenceStaysSilent(t *testing.T) {
	out := roundTrip(make([]int16, sampleRate))
	if r := rms(out); r >= 50 {
		t.Errorf("RMS of decoded silence = %.1f, want < 50", r)
	}
	// After a tone, silence must decay back to near zero as the scale factors shrink.
	in := append(sine(1000, 8000, sampleRate, sampleRate/2), make([]int16, sampleRate)...)
	out = roundTrip(in)
	if r := rms(out[len(out)-sampleRate/2:]); r >= 50 {
		t.Errorf("RMS of silence after a tone = %.1f, want < 50", r)
	}
}

func TestFrameByFrameMatchesOneShot(t *testing.T) {
	// A mix of tones and a loud burst so that every part of the state is exercised.
	in := sine(700, 6000, sampleRate, sampleRate)
	hi := sine(5500, 3000, sampleRate, sampleRate)
	for i := range in {
		in[i] += hi[i]
		if i > 4000 && i < 4400 {
			in[i] = int16(int32(in[i]) * 5 / 2)
		}
	}
	whole := NewEncoder().Encode(nil, in)

	framed := NewEncoder()
	var chunks []byte
	for off := 0; off < len(in); off += 160 {
		chunks = framed.Encode(chunks, in[off:off+160])
	}
	if !bytes.Equal(whole, chunks) {
		t.Fatal("160-sample chunks encode differently from one call")
	}

	odd := NewEncoder()
	var oddChunks []byte
	for off := 0; off < len(in); off += 107 {
		oddChunks = odd.Encode(oddChunks, in[off:min(off+107, len(in))])
	}
	if !bytes.Equal(whole, oddChunks) {
		t.Fatal("odd-length chunks encode differently from one call")
	}

	wholeOut := NewDecoder().Decode(nil, whole)
	dec := NewDecoder()
	var framedOut []int16
	for off := 0; off < len(whole); off += 160 {
		framedOut = dec.Decode(framedOut, whole[off:off+160])
	}
	if !slices.Equal(wholeOut, framedOut) {
		t.Fatal("frame-by-frame decoding differs from one call")
	}
}

func TestOutputSizes(t *testing.T) {
	enc, dec := NewEncoder(), NewDecoder()
	prefix := []byte{1, 2, 3}
	got := enc.Encode(slices.Clone(prefix), make([]int16, 320))
	if len(got) != 3+160 || !bytes.Equal(got[:3], prefix) {
		t.Fatalf("Encode appended %d bytes (prefix kept: %v), want 160", len(got)-3, bytes.Equal(got[:3], prefix))
	}
	if got := dec.Decode([]int16{7}, make([]byte, 160)); len(got) != 1+320 || got[0] != 7 {
		t.Fatalf("Decode appended %d samples, want 320", len(got)-1)
	}
	if got := enc.Encode(nil, []int16{5}); len(got) != 0 {
		t.Fatalf("a single sample produced %d bytes, want 0 (held for its pair)", len(got))
	}
	if got := enc.Encode(nil, []int16{6}); len(got) != 1 {
		t.Fatalf("completing the pair produced %d bytes, want 1", len(got))
	}
}

// TestTables cross-checks the transcribed tables against each other: each 6-bit reconstruction
// level lies inside its decision interval, the 4-bit levels are 6-bit decision levels, and the
// code tables are a permutation of the valid codes.
func TestTables(t *testing.T) {
	for mil := 1; mil < 30; mil++ {
		lo, hi := 8*q6[mil-1], 8*q6[mil]
		if pos := qq6[ilPos[mil]]; pos < lo || pos > hi {
			t.Errorf("qq6[%d] = %d outside decision interval %d [%d, %d]", ilPos[mil], pos, mil, lo, hi)
		}
		if neg := -qq6[ilNeg[mil]]; neg < lo || neg > hi {
			t.Errorf("qq6[%d] = %d outside decision interval %d [-%d, -%d]", ilNeg[mil], -neg, mil, hi, lo)
		}
	}
	if qq6[ilPos[30]] <= 8*q6[29] || qq6[ilNeg[30]] >= -8*q6[29] {
		t.Error("outermost reconstruction levels must lie beyond the last decision level")
	}
	seen := map[int32]bool{}
	for mil := 1; mil <= 30; mil++ {
		seen[ilPos[mil]], seen[ilNeg[mil]] = true, true
	}
	for il := int32(4); il < 64; il++ {
		if !seen[il] {
			t.Errorf("code %d is never produced", il)
		}
	}
	for il4 := 1; il4 < 15; il4++ {
		if il4 == 7 || il4 == 8 {
			continue
		}
		level := qq4[il4]
		if level < 0 {
			level = -level
		}
		if level%8 != 0 || !slices.Contains(q6[:], level/8) {
			t.Errorf("qq4[%d] = %d is not a decision level ×8", il4, qq4[il4])
		}
	}
	var even, odd int32
	for i := 0; i < 24; i += 2 {
		even += qmfCoeffs[i]
		odd += qmfCoeffs[i+1]
		if qmfCoeffs[i] != qmfCoeffs[23-i] {
			t.Errorf("QMF not symmetric at %d", i)
		}
	}
	if even != 4096 || odd != 4096 {
		t.Errorf("QMF even/odd tap sums = %d/%d, want 4096/4096", even, odd)
	}
}

func TestEncoderProducesOnlyValidLowCodes(t *testing.T) {
	in := sine(1234, 30000, sampleRate, sampleRate/4)
	for _, b := range NewEncoder().Encode(nil, in) {
		if b&0x3f < 4 {
			t.Fatalf("encoder produced reserved lower-band code %d", b&0x3f)
		}
	}
}

func TestFullScaleDoesNotWrap(t *testing.T) {
	in := sine(1000, 32767, sampleRate, sampleRate/2)
	out := roundTrip(in)
	_, snr := alignedSNR(in, out, 800)
	t.Logf("full-scale 1000 Hz: SNR %.1f dB", snr)
	if snr < 15 {
		t.Errorf("full-scale SNR %.1f dB, want > 15 dB (wrap-around would ruin it)", snr)
	}
}

func TestZeroAllocations(t *testing.T) {
	enc, dec := NewEncoder(), NewDecoder()
	pcm := sine(1000, 8000, sampleRate, 320)
	payload := make([]byte, 0, 160)
	samples := make([]int16, 0, 320)
	if n := testing.AllocsPerRun(50, func() { payload = enc.Encode(payload[:0], pcm) }); n != 0 {
		t.Errorf("Encode allocates %v times per frame", n)
	}
	if n := testing.AllocsPerRun(50, func() { samples = dec.Decode(samples[:0], payload) }); n != 0 {
		t.Errorf("Decode allocates %v times per frame", n)
	}
}

func TestResampleHelpers(t *testing.T) {
	in8 := sine(1000, 8000, 8000, 8000)
	up := Upsample8to16(in8)
	if len(up) != 2*len(in8) {
		t.Fatalf("Upsample8to16 gave %d samples, want %d", len(up), 2*len(in8))
	}
	if f := dominantFrequency(up, sampleRate); math.Abs(f-1000) > 5 {
		t.Errorf("upsampled tone at %v Hz, want 1000", f)
	}
	down := Downsample16to8(roundTrip(up))
	if len(down) != len(in8) {
		t.Fatalf("Downsample16to8 gave %d samples, want %d", len(down), len(in8))
	}
	if f := dominantFrequency(down, 8000); math.Abs(f-1000) > 5 {
		t.Errorf("8 kHz round trip tone at %v Hz, want 1000", f)
	}
	lag, snr := alignedSNR(in8, down, 400)
	t.Logf("8k→16k→G.722→8k 1000 Hz: delay %d samples, SNR %.1f dB", lag, snr)
	if snr < 15 {
		t.Errorf("8 kHz round trip SNR %.1f dB, want > 15 dB", snr)
	}
	if got := Downsample16to8([]int16{1, 2, 3}); len(got) != 1 {
		t.Errorf("Downsample16to8 of 3 samples gave %d, want 1", len(got))
	}
}
