package g722

import "testing"

// 20 ms at 16 kHz: 320 samples in, 160 octets out, as one RTP packet carries it.
const frameSamples = 320

func BenchmarkEncodeFrame(b *testing.B) {
	enc := NewEncoder()
	pcm := sine(1000, 8000, sampleRate, frameSamples)
	dst := make([]byte, 0, frameSamples/2)
	b.ReportAllocs()
	b.SetBytes(frameSamples * 2)
	for b.Loop() {
		dst = enc.Encode(dst[:0], pcm)
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	payload := NewEncoder().Encode(nil, sine(1000, 8000, sampleRate, frameSamples))
	dec := NewDecoder()
	dst := make([]int16, 0, frameSamples)
	b.ReportAllocs()
	b.SetBytes(frameSamples / 2)
	for b.Loop() {
		dst = dec.Decode(dst[:0], payload)
	}
}
