// Package g711 encodes and decodes G.711 µ-law and A-law samples and offers the small signal tools
// (tone generator, Goertzel detector) the media tests need to check that audio survives the relay.
package g711

// Silence bytes: the encoding of a zero sample in each law.
const (
	ULawSilence byte = 0xFF
	ALawSilence byte = 0xD5
)

const (
	ulawBias = 0x84
	ulawClip = 32635
)

// EncodeULaw converts one 16-bit linear sample to µ-law (ITU-T G.711).
func EncodeULaw(sample int16) byte {
	s := int(sample)
	sign := 0
	if s < 0 {
		s = -s
		sign = 0x80
	}
	if s > ulawClip {
		s = ulawClip
	}
	s += ulawBias
	exponent := 7
	for mask := 0x4000; s&mask == 0 && exponent > 0; mask >>= 1 {
		exponent--
	}
	mantissa := (s >> (exponent + 3)) & 0x0F
	return ^byte(sign | exponent<<4 | mantissa)
}

// DecodeULaw converts one µ-law byte to a 16-bit linear sample.
func DecodeULaw(b byte) int16 {
	b = ^b
	exponent := int(b>>4) & 0x07
	mantissa := int(b & 0x0F)
	s := ((mantissa << 3) + ulawBias) << exponent
	s -= ulawBias
	if b&0x80 != 0 {
		return int16(-s)
	}
	return int16(s)
}

// EncodeALaw converts one 16-bit linear sample to A-law (ITU-T G.711, even bits inverted).
func EncodeALaw(sample int16) byte {
	s := int(sample)
	sign := 0x80
	if s < 0 {
		s = -s - 1
		sign = 0
	}
	s >>= 3 // A-law works on 13-bit magnitudes
	var out int
	if s < 32 {
		out = s >> 1
	} else {
		exponent := 1
		for v := s >> 6; v > 0 && exponent < 7; v >>= 1 {
			exponent++
		}
		mantissa := (s >> exponent) & 0x0F
		out = exponent<<4 | mantissa
	}
	return byte(out|sign) ^ 0x55
}

// DecodeALaw converts one A-law byte to a 16-bit linear sample.
func DecodeALaw(b byte) int16 {
	b ^= 0x55
	exponent := int(b>>4) & 0x07
	mantissa := int(b & 0x0F)
	var s int
	if exponent == 0 {
		s = mantissa<<4 + 8
	} else {
		s = (mantissa<<4 + 0x108) << (exponent - 1)
	}
	if b&0x80 == 0 {
		return int16(-s)
	}
	return int16(s)
}

// EncodeULawFrame encodes samples into dst (len(dst) must be >= len(samples)) and returns dst[:len(samples)].
func EncodeULawFrame(dst []byte, samples []int16) []byte {
	for i, s := range samples {
		dst[i] = EncodeULaw(s)
	}
	return dst[:len(samples)]
}

// DecodeULawFrame decodes payload into dst and returns dst[:len(payload)].
func DecodeULawFrame(dst []int16, payload []byte) []int16 {
	for i, b := range payload {
		dst[i] = DecodeULaw(b)
	}
	return dst[:len(payload)]
}

// EncodeALawFrame encodes samples into dst and returns dst[:len(samples)].
func EncodeALawFrame(dst []byte, samples []int16) []byte {
	for i, s := range samples {
		dst[i] = EncodeALaw(s)
	}
	return dst[:len(samples)]
}

// DecodeALawFrame decodes payload into dst and returns dst[:len(payload)].
func DecodeALawFrame(dst []int16, payload []byte) []int16 {
	for i, b := range payload {
		dst[i] = DecodeALaw(b)
	}
	return dst[:len(payload)]
}
