package g722

// Constants of ITU-T G.722 (11/1988), section 6 "computational details". Every value below is a
// table of the Recommendation; the comment names the block that uses it. Quantities are in the
// Recommendation's fixed-point units (decision and reconstruction levels scaled by 8, shifts as
// the blocks prescribe).

// qmfCoeffs are the 24 QMF prototype coefficients h0..h23 scaled by 2^13 (Table 2/G.722).
// The filter is symmetric (h[i] == h[23-i]); the even and the odd taps each sum to 4096, so the
// prototype has unity gain at DC.
var qmfCoeffs = [24]int32{
	3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876,
	3876, 951, -805, -210, 362, 32, -156, 12, 53, -11, -11, 3,
}

// q6 are the lower sub-band quantizer decision levels (QUANTL, Table 6/G.722), index = MIL.
// The threshold for interval MIL is (q6[MIL] * DETL) >> 12.
var q6 = [30]int32{
	0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650,
	714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
}

// ilNeg and ilPos give the 6-bit lower sub-band code IL for quantizer interval MIL (1..30) of a
// negative or non-negative prediction error (QUANTL, Table 6/G.722).
var ilNeg = [31]int32{
	0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
	18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
}

var ilPos = [31]int32{
	0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
	46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
}

// qq4 are the 4-bit inverse quantizer outputs (×8) used by the lower sub-band predictor and scale
// factor adaptation, indexed by IL >> 2 (INVQAL, Table 7/G.722).
var qq4 = [16]int32{
	0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
	20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
}

// qq6 are the 6-bit inverse quantizer outputs (×8) that the decoder uses for its lower sub-band
// output in mode 1 (64 kbit/s), indexed by IL (INVQBL, Table 6/G.722). Codes 0..3 are never
// produced by an encoder; the Recommendation maps them to the smallest negative level.
var qq6 = [64]int32{
	-136, -136, -136, -136, -24808, -21904, -19008, -16704,
	-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
	-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
	-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
	24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
	10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
	4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
	1688, 1360, 1040, 728, 432, 136, -432, -136,
}

// rl42 maps the 4-bit code IL>>2 to the 3-bit magnitude index of wl (LOGSCL, Table 7/G.722).
var rl42 = [16]int32{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}

// wl is the lower sub-band log scale factor multiplier (LOGSCL, Table 7/G.722).
var wl = [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}

// ilb is the inverse log2 table used to turn a log scale factor into a linear one (SCALEL/SCALEH).
var ilb = [32]int32{
	2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
	2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
}

// q2 is the single higher sub-band decision level (QUANTH, Table 8/G.722).
const q2 = 564

// ihNeg and ihPos give the 2-bit higher sub-band code IH for interval MIH (1..2) (QUANTH).
var (
	ihNeg = [3]int32{0, 1, 0}
	ihPos = [3]int32{0, 3, 2}
)

// qq2 are the 2-bit inverse quantizer outputs (×8), indexed by IH (INVQAH, Table 8/G.722).
var qq2 = [4]int32{-7408, -1616, 7408, 1616}

// rh2 maps IH to the index of wh; wh is the higher sub-band log scale factor multiplier (LOGSCH).
var (
	rh2 = [4]int32{2, 1, 2, 1}
	wh  = [3]int32{0, -214, 798}
)

// Limits of the log scale factors (LOGSCL, LOGSCH) and the shifts of SCALEL/SCALEH.
const (
	lowLogScaleMax  = 18432
	highLogScaleMax = 22528
	lowScaleShift   = 8
	highScaleShift  = 10
)
