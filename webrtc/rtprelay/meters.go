package rtprelay

// SeqTracker counts packets lost from gaps in the sequence numbers of one source. A packet that arrives
// late (after a gap was counted) takes one back; duplicates are ignored.
type SeqTracker struct {
	started bool
	highest uint16
	Lost    uint64
}

// Reset forgets the current source (keeps Lost) so that the next packet starts a new sequence.
func (t *SeqTracker) Reset() { t.started = false }

// Observe accounts for one received sequence number.
func (t *SeqTracker) Observe(seq uint16) {
	if !t.started {
		t.started, t.highest = true, seq
		return
	}
	switch d := int16(seq - t.highest); {
	case d > 0:
		t.Lost += uint64(d - 1)
		t.highest = seq
	case d < 0 && t.Lost > 0:
		t.Lost--
	}
}

// Jitter is the RFC 3550 (section 6.4.1, appendix A.8) interarrival jitter estimator.
type Jitter struct {
	started     bool
	lastTransit int32
	jitter      float64 // in RTP timestamp units
}

// Reset starts over for a new source.
func (j *Jitter) Reset() { j.started, j.jitter = false, 0 }

// Observe accounts for a packet with RTP timestamp ts that arrived at arrivalNanos (any monotonic
// origin) for a clock of clockRate Hz.
func (j *Jitter) Observe(ts uint32, arrivalNanos int64, clockRate uint32) {
	arrival := uint32(arrivalNanos / 1000 * int64(clockRate) / 1_000_000)
	transit := int32(arrival - ts)
	if !j.started {
		j.started, j.lastTransit = true, transit
		return
	}
	d := transit - j.lastTransit
	j.lastTransit = transit
	if d < 0 {
		d = -d
	}
	j.jitter += (float64(d) - j.jitter) / 16
}

// Value returns the current jitter estimate in RTP timestamp units.
func (j *Jitter) Value() float64 { return j.jitter }
