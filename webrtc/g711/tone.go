package g711

import "math"

// Tone generates a continuous sine wave frame by frame, keeping phase across frames.
type Tone struct {
	step      float64 // phase advance per sample, radians
	phase     float64
	amplitude float64
}

// NewTone returns a generator of a sine at freqHz with the given peak amplitude (0..32767).
func NewTone(freqHz, sampleRate float64, amplitude int16) *Tone {
	return &Tone{step: 2 * math.Pi * freqHz / sampleRate, amplitude: float64(amplitude)}
}

// Fill writes the next len(dst) samples of the tone into dst.
func (t *Tone) Fill(dst []int16) {
	for i := range dst {
		dst[i] = int16(math.Round(t.amplitude * math.Sin(t.phase)))
		t.phase += t.step
		if t.phase > 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
}

// GoertzelPower returns the signal power at freqHz in samples, normalised so that a full-scale sine
// at exactly that frequency gives about 0.25 and silence gives 0. Compare it with the power at other
// frequencies (or with RMS) rather than with absolute thresholds.
func GoertzelPower(samples []int16, freqHz, sampleRate float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freqHz/sampleRate)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x)/32768 + coeff*s1 - s2
		s2 = s1
		s1 = s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	n := float64(len(samples))
	return power / (n * n)
}

// RMS returns the root mean square of samples in linear units.
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, x := range samples {
		sum += float64(x) * float64(x)
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// DominantFrequency returns the candidate with the highest Goertzel power in samples.
func DominantFrequency(samples []int16, sampleRate float64, candidates ...float64) float64 {
	best, bestPower := 0.0, -1.0
	for _, f := range candidates {
		if p := GoertzelPower(samples, f, sampleRate); p > bestPower {
			best, bestPower = f, p
		}
	}
	return best
}
