package aritest

import (
	"math"

	"github.com/crmphone/crmphone/webrtc/g711"
)

// The simulator's G.711 is webrtc/g711, exported here for tests that speak
// to the simulator's RTP directly.
var (
	EncodeULaw = g711.EncodeULaw
	DecodeULaw = g711.DecodeULaw
	EncodeALaw = g711.EncodeALaw
	DecodeALaw = g711.DecodeALaw
	RMS        = g711.RMS
)

// codec describes an externalMedia format: payload type, RTP clock and (de)packetisation of a
// 20 ms frame of 8 kHz linear audio.
type codec struct {
	name   string
	pt     uint8
	tsStep uint32
	encode func([]int16) []byte
	decode func([]byte) []int16 // nil: inbound audio is dropped (as Asterisk does for slin16)
}

func codecByFormat(format string) (codec, bool) {
	switch format {
	case "ulaw":
		return codec{name: format, pt: 0, tsStep: 160,
			encode: func(in []int16) []byte { return mapBytes(in, EncodeULaw) },
			decode: func(b []byte) []int16 { return mapSamples(b, DecodeULaw) }}, true
	case "alaw":
		return codec{name: format, pt: 8, tsStep: 160,
			encode: func(in []int16) []byte { return mapBytes(in, EncodeALaw) },
			decode: func(b []byte) []int16 { return mapSamples(b, DecodeALaw) }}, true
	case "slin":
		return codec{name: format, pt: 10, tsStep: 160, encode: encodeSlinBE,
			decode: decodeSlinBE}, true
	case "slin16":
		// Asterisk sends PT 118 (640 bytes, 16 kHz) but has no receive mapping for it (README b).
		return codec{name: format, pt: 118, tsStep: 320,
			encode: func(in []int16) []byte { return encodeSlinBE(upsample2(in)) }}, true
	case "g722":
		// 16 kHz audio, but an 8 kHz RTP clock (RFC 3551): 160 bytes and timestamp step 160 per
		// 20 ms. The bridge runs at 8 kHz, so frames are resampled around the codec.
		enc, dec := NewG722Encoder(), NewG722Decoder()
		return codec{name: format, pt: 9, tsStep: 160,
			encode: func(in []int16) []byte { return enc.Encode(upsample2(in)) },
			decode: func(b []byte) []int16 { return downsample2(dec.Decode(b)) }}, true
	}
	return codec{}, false
}

func mapBytes(in []int16, f func(int16) byte) []byte {
	out := make([]byte, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func mapSamples(in []byte, f func(byte) int16) []int16 {
	out := make([]int16, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func encodeSlinBE(in []int16) []byte {
	out := make([]byte, 2*len(in))
	for i, v := range in {
		out[2*i] = byte(uint16(v) >> 8)
		out[2*i+1] = byte(v)
	}
	return out
}

func decodeSlinBE(b []byte) []int16 {
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(uint16(b[2*i])<<8 | uint16(b[2*i+1]))
	}
	return out
}

// downsample2 halves the sample rate, averaging each pair (a crude low-pass that is enough
// for the telephone band the bridge carries).
func downsample2(in []int16) []int16 {
	out := make([]int16, len(in)/2)
	for i := range out {
		out[i] = int16((int(in[2*i]) + int(in[2*i+1])) / 2)
	}
	return out
}

// upsample2 doubles the sample rate by linear interpolation.
func upsample2(in []int16) []int16 {
	out := make([]int16, 2*len(in))
	for i, v := range in {
		next := v
		if i+1 < len(in) {
			next = in[i+1]
		}
		out[2*i] = v
		out[2*i+1] = int16((int(v) + int(next)) / 2)
	}
	return out
}

// GenerateTone returns n samples of a sine tone at rate Hz, starting at phase 0.
func GenerateTone(freq, amplitude float64, n, rate int) []int16 {
	g := newToneGen(freq, amplitude)
	g.rate = float64(rate)
	return g.next(n)
}

// DominantFrequency returns the frequency (Hz, 5 Hz resolution, 50 Hz .. rate/2) with the most
// energy in samples, measured with the Goertzel algorithm, and that energy's share of the total
// (0..1) so callers can tell a tone from noise or silence.
func DominantFrequency(samples []int16, rate int) (freq float64, share float64) {
	if len(samples) == 0 || rate <= 0 {
		return 0, 0
	}
	var total float64
	for _, v := range samples {
		total += float64(v) * float64(v)
	}
	if total == 0 {
		return 0, 0
	}
	n := float64(len(samples))
	bestPower := 0.0
	for f := 50.0; f < float64(rate)/2; f += 5 {
		coeff := 2 * math.Cos(2*math.Pi*f/float64(rate))
		var s1, s2 float64
		for _, v := range samples {
			s0 := float64(v) + coeff*s1 - s2
			s2, s1 = s1, s0
		}
		p := s1*s1 + s2*s2 - coeff*s1*s2
		if p > bestPower {
			bestPower, freq = p, f
		}
	}
	// For a pure tone the Goertzel power is about (N/2)^2 * A^2 and total energy N*A^2/2.
	share = bestPower * 2 / (n * total)
	if share > 1 {
		share = 1
	}
	return freq, share
}
