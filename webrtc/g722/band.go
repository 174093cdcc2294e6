package g722

// band is the ADPCM state of one sub-band: the scale factor (LOGSCL/SCALEL or LOGSCH/SCALEH)
// and the adaptive predictor with two poles and six zeros that both sub-bands share
// (blocks PARREC, RECONS, UPPOL1, UPPOL2, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC).
// Index 0 of the history arrays is unused so that the indices match the Recommendation's names
// (AL1, AL2, BL1..BL6, DLT1..DLT6, PLT1, PLT2, RLT1, RLT2).
type band struct {
	det int32    // quantizer scale factor (DETL / DETH)
	nb  int32    // log scale factor (NBL / NBH)
	a   [3]int32 // pole section coefficients
	b   [7]int32 // zero section coefficients
	d   [7]int32 // past quantized differences
	p   [3]int32 // past partially reconstructed signals
	r   [3]int32 // past reconstructed signals
	sz  int32    // zero section estimate (SZL / SZH)
	s   int32    // signal estimate (SL / SH)
}

func newLowBand() band  { return band{det: 32} }
func newHighBand() band { return band{det: 8} }

// sat16 limits v to the 16-bit two's complement range, as the Recommendation's arithmetic does.
func sat16(v int32) int32 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

func clamp(v, lo, hi int32) int32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// magnitude is the Recommendation's |x| for the quantizers: non-negative values unchanged,
// negative values bit-inverted (-x-1), which keeps the result within 15 bits.
func magnitude(x int32) int32 {
	if x < 0 {
		return -(x + 1)
	}
	return x
}

// scaleFactor implements SCALEL/SCALEH: the linear scale factor from the log one.
func scaleFactor(nb, shift int32) int32 {
	mant := ilb[(nb>>6)&31]
	sh := shift - (nb >> 11)
	if sh < 0 {
		mant <<= -sh
	} else {
		mant >>= sh
	}
	return mant << 2
}

// updateLow adapts the lower sub-band state after code il (6 bits; only its 4 upper bits count).
func (bd *band) updateLow(il int32) {
	il4 := il >> 2
	dlt := (bd.det * qq4[il4]) >> 15
	nb := clamp((bd.nb*32512)>>15+wl[rl42[il4]], 0, lowLogScaleMax)
	bd.predict(dlt)
	bd.nb = nb
	bd.det = scaleFactor(nb, lowScaleShift)
}

// updateHigh adapts the higher sub-band state after code ih (2 bits).
func (bd *band) updateHigh(ih int32) {
	dh := (bd.det * qq2[ih]) >> 15
	nb := clamp((bd.nb*32512)>>15+wh[rh2[ih]], 0, highLogScaleMax)
	bd.predict(dh)
	bd.nb = nb
	bd.det = scaleFactor(nb, highScaleShift)
}

// predict feeds the quantized difference d to the pole/zero predictor and leaves the estimate
// for the next sample in bd.s.
func (bd *band) predict(d int32) {
	p := sat16(d + bd.sz) // PARREC
	r := sat16(bd.s + d)  // RECONS

	// UPPOL2: second pole coefficient.
	neg0, neg1, neg2 := p < 0, bd.p[1] < 0, bd.p[2] < 0
	wd1 := sat16(bd.a[1] * 4)
	wd2 := wd1
	if neg0 == neg1 {
		wd2 = sat16(-wd1)
	}
	wd2 >>= 7
	wd3 := int32(-128)
	if neg0 == neg2 {
		wd3 = 128
	}
	a2 := clamp(wd2+wd3+(bd.a[2]*32512)>>15, -12288, 12288)

	// UPPOL1: first pole coefficient, bounded so that the pole pair stays stable.
	step := int32(-192)
	if neg0 == neg1 {
		step = 192
	}
	a1 := sat16(step + (bd.a[1]*32640)>>15)
	lim := 15360 - a2
	a1 = clamp(a1, -lim, lim)

	// UPZERO: sign-sign update of the six zero coefficients (zero counts as positive).
	var zstep int32
	if d != 0 {
		zstep = 128
	}
	negD := d < 0
	for i := 1; i <= 6; i++ {
		w := zstep
		if (bd.d[i] < 0) != negD {
			w = -zstep
		}
		bd.b[i] = sat16(w + (bd.b[i]*32640)>>15)
	}

	// DELAYA
	copy(bd.d[2:], bd.d[1:6])
	bd.d[1] = d
	bd.p[2], bd.p[1] = bd.p[1], p
	bd.r[2], bd.r[1] = bd.r[1], r
	bd.a[1], bd.a[2] = a1, a2

	// FILTEP: pole section.
	sp := sat16((bd.a[1]*sat16(bd.r[1]*2))>>15 + (bd.a[2]*sat16(bd.r[2]*2))>>15)

	// FILTEZ: zero section.
	var sz int32
	for i := 1; i <= 6; i++ {
		sz += (bd.b[i] * sat16(bd.d[i]*2)) >> 15
	}
	bd.sz = sat16(sz)

	bd.s = sat16(sp + bd.sz) // PREDIC
}
