package aritest

// ITU-T G.722 (SB-ADPCM) at 64 kbit/s: 16 kHz audio split by a 24-tap QMF into a lower band
// coded with 6-bit ADPCM and a higher band coded with 2-bit ADPCM; one byte per pair of input
// samples. Written from the algorithm description of the recommendation (blocks 1L..6L, 1H..4H,
// QMF); the constant tables are the recommendation's.

var g722QMF = [12]int{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}

var (
	g722Q6 = [32]int{0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
		786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0}
	g722ILN = [32]int{0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15,
		14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0}
	g722ILP = [32]int{0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43,
		42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0}
	g722WL   = [8]int{-60, -30, 58, 172, 334, 538, 1198, 3042}
	g722RL42 = [16]int{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	g722ILB  = [32]int{2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656,
		2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756,
		3838, 3922, 4008}
	g722QM4 = [16]int{0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288,
		4240, 2584, 1200, 0}
	g722QM2 = [4]int{-7408, -1616, 7408, 1616}
	g722QM6 = [64]int{-136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280,
		-11192, -10232, -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512,
		12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
		2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136}
	g722IHN = [3]int{0, 1, 0}
	g722IHP = [3]int{0, 3, 2}
	g722WH  = [3]int{0, -214, 798}
	g722RH2 = [4]int{2, 1, 2, 1}
)

func sat16(v int) int {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

// g722Band is the adaptive predictor and scale factor state of one sub-band.
type g722Band struct {
	s, sp, sz int
	r, a, ap  [3]int
	p         [3]int
	d, b, bp  [7]int
	sg        [7]int
	nb, det   int
}

// predict is block 4 of the recommendation: reconstruction, pole and zero predictor update.
func (b *g722Band) predict(d int) {
	b.d[0] = d
	b.r[0] = sat16(b.s + d)
	b.p[0] = sat16(b.sz + d)

	// UPPOL2
	for i := 0; i < 3; i++ {
		b.sg[i] = b.p[i] >> 15
	}
	wd1 := sat16(b.a[1] << 2)
	wd2 := wd1
	if b.sg[0] == b.sg[1] {
		wd2 = -wd1
	}
	if wd2 > 32767 {
		wd2 = 32767
	}
	wd3 := -128
	if b.sg[0] == b.sg[2] {
		wd3 = 128
	}
	wd3 += wd2 >> 7
	wd3 += (b.a[2] * 32512) >> 15
	wd3 = min(max(wd3, -12288), 12288)
	b.ap[2] = wd3

	// UPPOL1
	b.sg[0] = b.p[0] >> 15
	b.sg[1] = b.p[1] >> 15
	wd1 = -192
	if b.sg[0] == b.sg[1] {
		wd1 = 192
	}
	wd2 = (b.a[1] * 32640) >> 15
	b.ap[1] = sat16(wd1 + wd2)
	wd3 = sat16(15360 - b.ap[2])
	b.ap[1] = min(max(b.ap[1], -wd3), wd3)

	// UPZERO
	wd1 = 128
	if d == 0 {
		wd1 = 0
	}
	b.sg[0] = d >> 15
	for i := 1; i < 7; i++ {
		b.sg[i] = b.d[i] >> 15
		wd2 = -wd1
		if b.sg[i] == b.sg[0] {
			wd2 = wd1
		}
		wd3 = (b.b[i] * 32640) >> 15
		b.bp[i] = sat16(wd2 + wd3)
	}

	// DELAYA
	for i := 6; i > 0; i-- {
		b.d[i] = b.d[i-1]
		b.b[i] = b.bp[i]
	}
	for i := 2; i > 0; i-- {
		b.r[i] = b.r[i-1]
		b.p[i] = b.p[i-1]
		b.a[i] = b.ap[i]
	}

	// FILTEP
	wd1 = sat16(b.r[1] + b.r[1])
	wd1 = (b.a[1] * wd1) >> 15
	wd2 = sat16(b.r[2] + b.r[2])
	wd2 = (b.a[2] * wd2) >> 15
	b.sp = sat16(wd1 + wd2)

	// FILTEZ
	b.sz = 0
	for i := 6; i > 0; i-- {
		wd1 = sat16(b.d[i] + b.d[i])
		b.sz += (b.b[i] * wd1) >> 15
	}
	b.sz = sat16(b.sz)

	// PREDIC
	b.s = sat16(b.sp + b.sz)
}

func scaleFactor(nb, shift int) int {
	wd1 := (nb >> 6) & 31
	wd2 := shift - (nb >> 11)
	var wd3 int
	if wd2 < 0 {
		wd3 = g722ILB[wd1] << -wd2
	} else {
		wd3 = g722ILB[wd1] >> wd2
	}
	return wd3 << 2
}

// lowAdapt is blocks 2L/3L: inverse quantisation for the predictor and scale factor adaptation.
func (b *g722Band) lowAdapt(ril int) {
	dlow := (b.det * g722QM4[ril]) >> 15
	nb := (b.nb*127)>>7 + g722WL[g722RL42[ril]]
	b.nb = min(max(nb, 0), 18432)
	b.det = scaleFactor(b.nb, 8)
	b.predict(dlow)
}

// highAdapt is blocks 2H/3H for the higher band.
func (b *g722Band) highAdapt(ihigh int) int {
	dhigh := (b.det * g722QM2[ihigh]) >> 15
	nb := (b.nb*127)>>7 + g722WH[g722RH2[ihigh]]
	b.nb = min(max(nb, 0), 22528)
	b.det = scaleFactor(b.nb, 10)
	return dhigh
}

// G722Encoder encodes 16 kHz linear audio to G.722 at 64 kbit/s. Not safe for concurrent use.
type G722Encoder struct {
	x    [24]int
	band [2]g722Band
}

// NewG722Encoder returns an encoder in its initial state.
func NewG722Encoder() *G722Encoder {
	e := &G722Encoder{}
	e.band[0].det, e.band[1].det = 32, 8
	return e
}

// Encode codes pairs of 16 kHz samples; len(pcm) should be even (a trailing sample is dropped).
func (e *G722Encoder) Encode(pcm []int16) []byte {
	out := make([]byte, 0, len(pcm)/2)
	for j := 0; j+1 < len(pcm); j += 2 {
		copy(e.x[:22], e.x[2:])
		e.x[22], e.x[23] = int(pcm[j]), int(pcm[j+1])
		sumOdd, sumEven := 0, 0
		for i := 0; i < 12; i++ {
			sumOdd += e.x[2*i] * g722QMF[i]
			sumEven += e.x[2*i+1] * g722QMF[11-i]
		}
		xlow := (sumEven + sumOdd) >> 14
		xhigh := (sumEven - sumOdd) >> 14

		lo := &e.band[0]
		el := sat16(xlow - lo.s)
		wd := el
		if el < 0 {
			wd = -(el + 1)
		}
		i := 1
		for ; i < 30; i++ {
			if wd < (g722Q6[i]*lo.det)>>12 {
				break
			}
		}
		ilow := g722ILP[i]
		if el < 0 {
			ilow = g722ILN[i]
		}
		lo.lowAdapt(ilow >> 2)

		hi := &e.band[1]
		eh := sat16(xhigh - hi.s)
		wd = eh
		if eh < 0 {
			wd = -(eh + 1)
		}
		mih := 1
		if wd >= (564*hi.det)>>12 {
			mih = 2
		}
		ihigh := g722IHP[mih]
		if eh < 0 {
			ihigh = g722IHN[mih]
		}
		hi.predict(hi.highAdapt(ihigh))
		out = append(out, byte(ihigh<<6|ilow))
	}
	return out
}

// G722Decoder decodes G.722 at 64 kbit/s to 16 kHz linear audio. Not safe for concurrent use.
type G722Decoder struct {
	x    [24]int
	band [2]g722Band
}

// NewG722Decoder returns a decoder in its initial state.
func NewG722Decoder() *G722Decoder {
	d := &G722Decoder{}
	d.band[0].det, d.band[1].det = 32, 8
	return d
}

// Decode returns two 16 kHz samples per input byte.
func (d *G722Decoder) Decode(data []byte) []int16 {
	out := make([]int16, 0, 2*len(data))
	for _, code := range data {
		ilow := int(code) & 0x3F
		ihigh := int(code>>6) & 0x03

		lo := &d.band[0]
		rlow := min(max(lo.s+(lo.det*g722QM6[ilow])>>15, -16384), 16383)
		lo.lowAdapt(ilow >> 2)

		hi := &d.band[1]
		dhigh := hi.highAdapt(ihigh)
		// highAdapt updated det; the reconstruction uses the quantised difference just computed.
		rhigh := min(max(dhigh+hi.s, -16384), 16383)
		hi.predict(dhigh)

		copy(d.x[:22], d.x[2:])
		d.x[22] = rlow + rhigh
		d.x[23] = rlow - rhigh
		xout1, xout2 := 0, 0
		for i := 0; i < 12; i++ {
			xout2 += d.x[2*i] * g722QMF[i]
			xout1 += d.x[2*i+1] * g722QMF[11-i]
		}
		out = append(out, int16(sat16(xout1>>11)), int16(sat16(xout2>>11)))
	}
	return out
}
