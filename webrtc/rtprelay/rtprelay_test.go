package rtprelay

import (
	"bytes"
	"errors"
	"testing"
)

const ms = int64(1_000_000)

func packet(pt uint8, marker bool, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	b := make([]byte, HeaderLen+len(payload))
	PutHeader(b, pt, marker, seq, ts, ssrc)
	copy(b[HeaderLen:], payload)
	return b
}

func TestPayloadBounds(t *testing.T) {
	payload := bytes.Repeat([]byte{0xAB}, 160)
	plain := packet(0, false, 1, 2, 3, payload)

	withCSRCAndExt := []byte{0x80 | 0x10 | 0x02, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}
	withCSRCAndExt = append(withCSRCAndExt, make([]byte, 8)...)           // 2 CSRCs
	withCSRCAndExt = append(withCSRCAndExt, 0xBE, 0xDE, 0, 1, 1, 2, 3, 4) // one-word extension
	withCSRCAndExt = append(withCSRCAndExt, payload...)

	padded := append(packet(0, false, 1, 2, 3, payload), 0, 0, 3)
	padded[0] |= 0x20

	tests := []struct {
		name       string
		pkt        []byte
		start, end int
		err        error
	}{
		{"plain", plain, 12, 172, nil},
		{"csrc and extension", withCSRCAndExt, 28, 188, nil},
		{"padding", padded, 12, 172, nil},
		{"short", plain[:11], 0, 0, ErrShortPacket},
		{"version 0", append([]byte{0x00}, plain[1:]...), 0, 0, ErrNotRTPv2},
		{"extension cut", withCSRCAndExt[:27], 0, 0, ErrShortPacket},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start, end, err := PayloadBounds(tc.pkt)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if start != tc.start || end != tc.end {
				t.Fatalf("bounds = %d..%d, want %d..%d", start, end, tc.start, tc.end)
			}
		})
	}
}

func TestToAsteriskRewritesAndKeepsPayload(t *testing.T) {
	r := NewToAsterisk(9, 0xCAFE, 1000, 50000, 0xFC)
	payload := bytes.Repeat([]byte{0x42}, 160)
	var lastSeq uint16
	var lastTS uint32
	for i := range 3 {
		in := packet(96, false, uint16(65534+i), uint32(4294967000+160*i), 0x1111, payload)
		out, err := r.Rewrite(in, false)
		if err != nil {
			t.Fatal(err)
		}
		if PayloadType(out) != 9 || SSRC(out) != 0xCAFE {
			t.Fatalf("pt %d ssrc %#x", PayloadType(out), SSRC(out))
		}
		if !bytes.Equal(out[HeaderLen:], payload) {
			t.Fatal("payload changed")
		}
		if i == 0 {
			if Seq(out) != 1000 || Timestamp(out) != 50000 || !Marker(out) {
				t.Fatalf("first packet seq %d ts %d marker %v", Seq(out), Timestamp(out), Marker(out))
			}
		} else if Seq(out) != lastSeq+1 || Timestamp(out) != lastTS+160 || Marker(out) {
			t.Fatalf("packet %d seq %d ts %d marker %v after %d/%d", i, Seq(out), Timestamp(out), Marker(out), lastSeq, lastTS)
		}
		lastSeq, lastTS = Seq(out), Timestamp(out)
	}
}

func TestToAsteriskStripsExtensionAndMutes(t *testing.T) {
	r := NewToAsterisk(0, 7, 1, 1, 0xFF)
	in := []byte{0x90, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 8, 0xBE, 0xDE, 0, 1, 0x10, 0xFF, 0, 0}
	in = append(in, bytes.Repeat([]byte{0x12}, 160)...)
	out, err := r.Rewrite(in, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != HeaderLen+160 || out[0] != 0x80 {
		t.Fatalf("len %d first byte %#x", len(out), out[0])
	}
	if !bytes.Equal(out[HeaderLen:], bytes.Repeat([]byte{0xFF}, 160)) {
		t.Fatal("muted payload is not µ-law silence")
	}
}

func TestToAsteriskNewBrowserSSRCContinues(t *testing.T) {
	r := NewToAsterisk(0, 7, 100, 1000, 0xFF)
	p := bytes.Repeat([]byte{1}, 160)
	_, _ = r.Rewrite(packet(0, false, 10, 10, 1, p), false)
	_, _ = r.Rewrite(packet(0, false, 11, 170, 1, p), false)
	out, _ := r.Rewrite(packet(0, false, 5000, 999999, 2, p), false)
	if Seq(out) != 102 || Timestamp(out) != 1320 || !Marker(out) {
		t.Fatalf("after SSRC change seq %d ts %d marker %v, want 102 1320 true", Seq(out), Timestamp(out), Marker(out))
	}
}

func TestToBrowserContinuityAcrossGapsAndSources(t *testing.T) {
	r := NewToBrowser(8000, 500, 7000, 0)
	p := bytes.Repeat([]byte{0x55}, 160)
	type step struct {
		name     string
		seq      uint16
		ts, ssrc uint32
		at       int64
		wantSeq  uint16
		wantTS   uint32
		wantMark bool
	}
	steps := []step{
		{"first", 40000, 123456, 0xA, 0, 500, 7000, true},
		{"continuous", 40001, 123616, 0xA, 20 * ms, 501, 7160, false},
		{"continuous", 40002, 123776, 0xA, 40 * ms, 502, 7320, false},
		// Asterisk stopped for 500 ms (other side silent), resumes with its own jumped timestamp.
		{"after gap", 40003, 999999, 0xA, 540 * ms, 503, 7320 + 4000, true},
		{"continuous", 40004, 1000159, 0xA, 560 * ms, 504, 11480, false},
		// Next call: new UnicastRTP channel, new SSRC, seq and ts; 20 ms later.
		{"new source", 7, 42, 0xB, 580 * ms, 505, 11480 + 160, true},
		{"continuous", 8, 202, 0xB, 600 * ms, 506, 11800, false},
		// Short 12-byte packet style timestamp step keeps Asterisk's own timing within a spurt.
		{"short step", 9, 214, 0xB, 601 * ms, 507, 11812, false},
	}
	for _, s := range steps {
		pkt := packet(0, false, s.seq, s.ts, s.ssrc, p)
		if err := r.Rewrite(pkt, s.at); err != nil {
			t.Fatal(err)
		}
		if Seq(pkt) != s.wantSeq || Timestamp(pkt) != s.wantTS || Marker(pkt) != s.wantMark {
			t.Fatalf("%s: seq %d ts %d marker %v, want %d %d %v", s.name,
				Seq(pkt), Timestamp(pkt), Marker(pkt), s.wantSeq, s.wantTS, s.wantMark)
		}
		if !bytes.Equal(pkt[HeaderLen:], p) {
			t.Fatalf("%s: payload changed", s.name)
		}
	}
}

func TestToBrowserKeepsLossVisibleAndCountsIt(t *testing.T) {
	r := NewToBrowser(8000, 1, 0, 0)
	p := make([]byte, 160)
	for i, seq := range []uint16{10, 11, 14, 12, 15} {
		pkt := packet(0, false, seq, uint32(seq)*160, 1, p)
		_ = r.Rewrite(pkt, int64(i)*20*ms)
		if want := seq - 9; Seq(pkt) != want {
			t.Fatalf("in seq %d out %d, want %d", seq, Seq(pkt), want)
		}
	}
	if r.Loss.Lost != 1 {
		t.Fatalf("lost %d, want 1 (13 missing, 12 late)", r.Loss.Lost)
	}
}

func TestJitter(t *testing.T) {
	var j Jitter
	for i := range 100 {
		j.Observe(uint32(i*160), int64(i)*20*ms, 8000)
	}
	if j.Value() != 0 {
		t.Fatalf("jitter of a perfect stream = %v", j.Value())
	}
	for i := range 200 {
		late := int64(0)
		if i%2 == 1 {
			late = 10 * ms // every other packet 10 ms (80 ticks) late
		}
		j.Observe(uint32(i*160), int64(i)*20*ms+late, 8000)
	}
	if v := j.Value(); v < 70 || v > 90 {
		t.Fatalf("jitter %v ticks, want about 80", v)
	}
}

var sink []byte

func BenchmarkToAsteriskRewrite(b *testing.B) {
	r := NewToAsterisk(0, 7, 1, 1, 0xFF)
	pkt := packet(0, false, 1, 160, 99, make([]byte, 160))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		PutHeader(pkt, 0, false, uint16(i), uint32(i*160), 99)
		out, err := r.Rewrite(pkt, false)
		if err != nil {
			b.Fatal(err)
		}
		sink = out
	}
}

func BenchmarkToBrowserRewrite(b *testing.B) {
	r := NewToBrowser(8000, 1, 1, 0)
	pkt := packet(0, false, 1, 160, 99, make([]byte, 160))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		PutHeader(pkt, 0, false, uint16(i), uint32(i*160), 99)
		if err := r.Rewrite(pkt, int64(i)*20*ms); err != nil {
			b.Fatal(err)
		}
	}
}
