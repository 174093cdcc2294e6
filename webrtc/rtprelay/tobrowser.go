package rtprelay

import "encoding/binary"

// DefaultGap is the silence after which the next packet from Asterisk starts a new talk spurt.
const DefaultGap = 60_000_000 // 60 ms in nanoseconds

// ToBrowser rewrites the packets Asterisk sends into one continuous stream for the browser that lasts the
// whole operator session: Asterisk sends nothing while the other party is silent and every call (a new
// UnicastRTP channel) starts with a new SSRC, sequence number and timestamp. The browser must see one
// stream whose sequence numbers never jump and whose timestamps follow wall-clock time, otherwise its
// jitter buffer would treat the jumps as loss or as a clock drift. The SSRC itself is replaced by pion's
// track with the session's sender SSRC. It is used by one goroutine at a time.
type ToBrowser struct {
	clockRate uint32
	gapNanos  int64

	started     bool
	inSSRC      uint32
	seqOffset   uint16
	tsOffset    uint32
	lastSeq     uint16 // highest sequence number sent
	lastTS      uint32 // timestamp of that packet
	lastTicks   uint32 // its duration in clock ticks
	lastArrival int64

	Loss   SeqTracker
	Jitter Jitter
}

// NewToBrowser returns a rewriter for an RTP clock of clockRate Hz whose first packet gets firstSeq and
// firstTS. gapNanos <= 0 means DefaultGap.
func NewToBrowser(clockRate uint32, firstSeq uint16, firstTS uint32, gapNanos int64) *ToBrowser {
	if gapNanos <= 0 {
		gapNanos = DefaultGap
	}
	return &ToBrowser{clockRate: clockRate, gapNanos: gapNanos, lastSeq: firstSeq - 1, lastTS: firstTS}
}

// Rewrite rewrites sequence number, timestamp and marker of the Asterisk packet pkt in place.
// arrivalNanos is the packet's arrival time on a monotonic clock. A packet starts a new talk spurt
// (marker set, timestamp advanced by the wall-clock time since the previous packet) when it is the first
// one, when its SSRC differs from the previous packet's, or when more than the gap passed since the
// previous packet. No allocation.
func (r *ToBrowser) Rewrite(pkt []byte, arrivalNanos int64) error {
	if len(pkt) < HeaderLen {
		return ErrShortPacket
	}
	if pkt[0]>>6 != 2 {
		return ErrNotRTPv2
	}
	inSeq, inTS, inSSRC := Seq(pkt), Timestamp(pkt), SSRC(pkt)
	spurt := !r.started || inSSRC != r.inSSRC || arrivalNanos-r.lastArrival > r.gapNanos
	if spurt {
		nextTS := r.lastTS
		if r.started {
			elapsed := uint32((arrivalNanos - r.lastArrival) / 1000 * int64(r.clockRate) / 1_000_000)
			nextTS += max(elapsed, r.lastTicks)
		}
		r.seqOffset = r.lastSeq + 1 - inSeq
		r.tsOffset = nextTS - inTS
		if inSSRC != r.inSSRC || !r.started {
			r.Loss.Reset()
			r.Jitter.Reset()
		}
		r.started, r.inSSRC = true, inSSRC
	}
	r.Loss.Observe(inSeq)
	r.Jitter.Observe(inTS, arrivalNanos, r.clockRate)

	outSeq, outTS := inSeq+r.seqOffset, inTS+r.tsOffset
	if spurt || int16(outSeq-r.lastSeq) > 0 {
		r.lastSeq, r.lastTS, r.lastArrival = outSeq, outTS, arrivalNanos
		if start, end, err := PayloadBounds(pkt); err == nil {
			// For G.711 and G.722 (8 kHz RTP clock) one payload byte is one clock tick.
			r.lastTicks = uint32(end - start)
		}
	}
	binary.BigEndian.PutUint16(pkt[2:], outSeq)
	binary.BigEndian.PutUint32(pkt[4:], outTS)
	if spurt {
		pkt[1] |= 0x80
	}
	return nil
}
