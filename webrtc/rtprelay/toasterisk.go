package rtprelay

// ToAsterisk rewrites the browser's RTP packets into the stream Asterisk's UnicastRTP channel expects:
// the codec's static payload type, our SSRC, and sequence numbers and timestamps that are continuous for
// the whole call even if the browser changes its SSRC. Sequence gaps are kept so that Asterisk sees the
// loss. It is used by one goroutine at a time.
type ToAsterisk struct {
	payloadType uint8
	ssrc        uint32
	silence     byte

	started   bool
	inSSRC    uint32
	seqOffset uint16
	tsOffset  uint32
	nextSeq   uint16 // used when (re)basing on a new browser SSRC
	nextTS    uint32
	lastSeq   uint16
	lastTS    uint32
	lastTicks uint32

	Loss SeqTracker
}

// NewToAsterisk returns a rewriter that sends payloadType with ssrc, starting at seq/ts, and fills muted
// payloads with the silence byte of the codec.
func NewToAsterisk(payloadType uint8, ssrc uint32, firstSeq uint16, firstTS uint32, silence byte) *ToAsterisk {
	return &ToAsterisk{payloadType: payloadType, ssrc: ssrc, silence: silence, nextSeq: firstSeq, nextTS: firstTS}
}

// SSRC returns the source id used towards Asterisk.
func (r *ToAsterisk) SSRC() uint32 { return r.ssrc }

// Rewrite turns the browser packet pkt into the packet to send to Asterisk and returns it as a sub-slice
// of pkt: the new 12-byte header is written in place just before the payload (any CSRCs or extensions of
// the browser packet are dropped, padding is cut). When muted, the payload bytes are replaced by the
// codec's silence byte, so Asterisk keeps receiving a regular stream. No allocation.
func (r *ToAsterisk) Rewrite(pkt []byte, muted bool) ([]byte, error) {
	start, end, err := PayloadBounds(pkt)
	if err != nil {
		return nil, err
	}
	inSeq, inTS, inSSRC := Seq(pkt), Timestamp(pkt), SSRC(pkt)
	marker := Marker(pkt)
	if !r.started || inSSRC != r.inSSRC {
		if r.started {
			r.nextSeq = r.lastSeq + 1
			r.nextTS = r.lastTS + r.lastTicks
			r.Loss.Reset()
		}
		r.started, r.inSSRC = true, inSSRC
		r.seqOffset = r.nextSeq - inSeq
		r.tsOffset = r.nextTS - inTS
		marker = true
	}
	r.Loss.Observe(inSeq)
	outSeq, outTS := inSeq+r.seqOffset, inTS+r.tsOffset
	if int16(outSeq-r.lastSeq) > 0 || r.lastTicks == 0 {
		r.lastSeq, r.lastTS = outSeq, outTS
		// For G.711 and G.722 (8 kHz RTP clock) one payload byte is one clock tick.
		r.lastTicks = uint32(end - start)
	}
	out := pkt[start-HeaderLen : end]
	if muted {
		payload := out[HeaderLen:]
		for i := range payload {
			payload[i] = r.silence
		}
	}
	PutHeader(out, r.payloadType, marker, outSeq, outTS, r.ssrc)
	return out, nil
}
