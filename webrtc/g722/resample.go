package g722

// Upsample8to16 doubles the sample rate of 8 kHz PCM by linear interpolation: each input sample
// is followed by the mean of it and the next one (the last is repeated). It is test quality —
// meant for simulators that work at 8 kHz around this codec — not a proper band-limited
// resampler: it keeps some images above 4 kHz and carries no state between calls, so frame
// edges interpolate towards the frame's own last sample.
func Upsample8to16(in []int16) []int16 {
	out := make([]int16, 0, 2*len(in))
	for i, s := range in {
		next := s
		if i+1 < len(in) {
			next = in[i+1]
		}
		out = append(out, s, int16((int32(s)+int32(next))/2))
	}
	return out
}

// Downsample16to8 halves the sample rate of 16 kHz PCM: each output sample is the [1 2 1]/4
// weighted mean centred on an even input sample, a short low-pass that damps (but does not
// remove) content above 4 kHz. Test quality, stateless like Upsample8to16; a trailing odd
// sample is dropped.
func Downsample16to8(in []int16) []int16 {
	out := make([]int16, 0, len(in)/2)
	for i := 0; i+1 < len(in); i += 2 {
		prev := in[i]
		if i > 0 {
			prev = in[i-1]
		}
		out = append(out, int16((int32(prev)+2*int32(in[i])+int32(in[i+1]))/4))
	}
	return out
}
