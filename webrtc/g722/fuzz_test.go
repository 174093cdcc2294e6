package g722

import "testing"

// FuzzDecode feeds arbitrary octets to one decoder across several calls: it must never panic and
// must always return two samples per octet.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x00, 0xff, 0x7f, 0x80})
	f.Add(NewEncoder().Encode(nil, sine(1000, 8000, sampleRate, 320)))
	f.Add([]byte{0x04, 0x04, 0x04, 0x04, 0x20, 0x20, 0x20, 0x20, 0xc4, 0xe0, 0x04, 0x20})
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := NewDecoder()
		var out []int16
		for pass := 0; pass < 3; pass++ { // repeat so that the adapted state is exercised too
			out = dec.Decode(out[:0], data)
			if len(out) != 2*len(data) {
				t.Fatalf("decoded %d samples from %d octets", len(out), len(data))
			}
		}
	})
}

// FuzzEncode checks that any PCM (as little-endian int16 pairs) encodes without panicking to one
// octet per sample pair, and that the octets decode to the right number of samples.
func FuzzEncode(f *testing.F) {
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80, 0xff, 0x7f, 0x00, 0x80})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm := make([]int16, len(data)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
		}
		pcm = pcm[:len(pcm)&^1]
		enc := NewEncoder()
		var payload []byte
		for pass := 0; pass < 3; pass++ {
			payload = enc.Encode(payload[:0], pcm)
			if len(payload) != len(pcm)/2 {
				t.Fatalf("encoded %d octets from %d samples", len(payload), len(pcm))
			}
		}
		if got := NewDecoder().Decode(nil, payload); len(got) != len(pcm) {
			t.Fatalf("decoded %d samples, want %d", len(got), len(pcm))
		}
	})
}
