// Package g722 is a pure-Go ITU-T G.722 codec (7 kHz audio coding within 64 kbit/s), mode 1:
// 16 kHz 16-bit linear PCM in and out, one octet per pair of samples (6 bits of lower sub-band
// ADPCM in bits 0..5, 2 bits of higher sub-band ADPCM in bits 6..7), i.e. 160 octets per 20 ms.
//
// It follows the block descriptions of the Recommendation (transmit/receive QMF, QUANTL/QUANTH,
// inverse adaptive quantizers, log scale factor adaptation, pole/zero predictor). Internally the
// sub-band signals are 15 bits wide: 16-bit input enters the QMF as the Recommendation's 14-bit
// signal scaled by 4, and the decoder output is scaled back to 16 bits.
//
// Encoder and Decoder keep their state between calls, so a stream can be coded frame by frame
// exactly as it would be coded in one call. Neither allocates when dst has enough capacity.
// Neither is safe for concurrent use.
package g722

import "slices"

// Encoder turns 16 kHz linear PCM into G.722 octets.
type Encoder struct {
	hist       [24]int32 // QMF input history, hist[0] newest
	low, high  band
	pending    int16 // input sample waiting for its pair when a call had an odd length
	hasPending bool
}

// NewEncoder returns an encoder in the Recommendation's reset state.
func NewEncoder() *Encoder {
	return &Encoder{low: newLowBand(), high: newHighBand()}
}

// Encode appends the G.722 octets for pcm16k to dst and returns the extended slice: one octet
// per pair of samples. The stream is meant to have an even length per call (20 ms = 320
// samples); if a call ends with an odd sample, it is kept and paired with the first sample of
// the next call.
func (e *Encoder) Encode(dst []byte, pcm16k []int16) []byte {
	n := len(pcm16k)
	if e.hasPending {
		n++
	}
	dst = slices.Grow(dst, n/2)
	i := 0
	if e.hasPending && len(pcm16k) > 0 {
		dst = append(dst, e.encodePair(int32(e.pending), int32(pcm16k[0])))
		e.hasPending = false
		i = 1
	}
	for ; i+1 < len(pcm16k); i += 2 {
		dst = append(dst, e.encodePair(int32(pcm16k[i]), int32(pcm16k[i+1])))
	}
	if i < len(pcm16k) {
		e.pending, e.hasPending = pcm16k[i], true
	}
	return dst
}

// encodePair codes two consecutive samples (older first) into one octet.
func (e *Encoder) encodePair(older, newer int32) byte {
	// Transmit QMF: the lower band is the sum of the even- and odd-tap partial filters, the
	// higher band their difference; both come out at 8 kHz.
	copy(e.hist[2:], e.hist[:22])
	e.hist[1], e.hist[0] = older, newer
	var even, odd int32
	for i := 0; i < 24; i += 2 {
		even += qmfCoeffs[i] * e.hist[i]
		odd += qmfCoeffs[i+1] * e.hist[i+1]
	}
	xl := sat16((even + odd) >> 14)
	xh := sat16((even - odd) >> 14)

	// QUANTL: 6-bit quantization of the lower band prediction error.
	el := sat16(xl - e.low.s)
	wd := magnitude(el)
	mil := 1
	for ; mil < 30; mil++ {
		if wd < (q6[mil]*e.low.det)>>12 {
			break
		}
	}
	il := ilPos[mil]
	if el < 0 {
		il = ilNeg[mil]
	}

	// QUANTH: 2-bit quantization of the higher band prediction error.
	eh := sat16(xh - e.high.s)
	mih := 1
	if magnitude(eh) >= (q2*e.high.det)>>12 {
		mih = 2
	}
	ih := ihPos[mih]
	if eh < 0 {
		ih = ihNeg[mih]
	}

	e.low.updateLow(il)
	e.high.updateHigh(ih)
	return byte(ih<<6 | il)
}

// Decoder turns G.722 octets (64 kbit/s, mode 1) into 16 kHz linear PCM.
type Decoder struct {
	diff, sum [12]int32 // receive QMF histories of rL-rH and rL+rH, index 0 newest
	low, high band
}

// NewDecoder returns a decoder in the Recommendation's reset state.
func NewDecoder() *Decoder {
	return &Decoder{low: newLowBand(), high: newHighBand()}
}

// Decode appends two 16 kHz samples per octet of g722 to dst and returns the extended slice.
// Every octet value is valid input.
func (d *Decoder) Decode(dst []int16, g722 []byte) []int16 {
	dst = slices.Grow(dst, 2*len(g722))
	for _, octet := range g722 {
		il := int32(octet & 0x3f)
		ih := int32(octet >> 6)

		// Lower band output uses the 6-bit inverse quantizer (INVQBL); adaptation uses 4 bits.
		rl := clamp(d.low.s+(d.low.det*qq6[il])>>15, -16384, 16383)
		rh := clamp(d.high.s+(d.high.det*qq2[ih])>>15, -16384, 16383)
		d.low.updateLow(il)
		d.high.updateHigh(ih)

		// Receive QMF: interpolate both bands back to 16 kHz.
		copy(d.diff[1:], d.diff[:11])
		copy(d.sum[1:], d.sum[:11])
		d.diff[0], d.sum[0] = rl-rh, rl+rh
		var out1, out2 int32
		for i := 0; i < 12; i++ {
			out1 += qmfCoeffs[2*i] * d.diff[i]
			out2 += qmfCoeffs[2*i+1] * d.sum[i]
		}
		dst = append(dst, int16(sat16(out1>>11)), int16(sat16(out2>>11)))
	}
	return dst
}
