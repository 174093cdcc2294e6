package aritest

import (
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/pion/rtp"
)

const frameSamples = 160 // 20 ms at 8 kHz

// rtpEndpoint is the UDP side of an externalMedia (UnicastRTP) channel.
type rtpEndpoint struct {
	conn   *net.UDPConn
	remote *net.UDPAddr
	codec  codec

	mu     sync.Mutex
	strict *net.UDPAddr // source address learnt from the first packet (strict RTP)
	rxq    [][]int16
	closed bool

	seq    uint16
	ssrc   uint32
	tsBase uint32
}

func (s *Server) newRTPEndpoint(remote *net.UDPAddr, c codec) (*rtpEndpoint, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	ep := &rtpEndpoint{conn: conn, remote: remote, codec: c, seq: uint16(rand.Uint32()),
		ssrc: rand.Uint32(), tsBase: rand.Uint32()}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ep.readLoop(s)
	}()
	return ep, nil
}

func (ep *rtpEndpoint) localAddr() *net.UDPAddr { return ep.conn.LocalAddr().(*net.UDPAddr) }

func (ep *rtpEndpoint) close() {
	ep.mu.Lock()
	ep.closed = true
	ep.mu.Unlock()
	_ = ep.conn.Close()
}

func (ep *rtpEndpoint) readLoop(s *Server) {
	buf := make([]byte, 2048)
	for {
		n, from, err := ep.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		s.mu.Lock()
		silent := s.faults.RTPSilent
		s.mu.Unlock()
		ep.mu.Lock()
		if ep.strict == nil {
			ep.strict = from
		}
		accept := ep.strict.IP.Equal(from.IP) && ep.strict.Port == from.Port
		if accept && !silent && pkt.PayloadType == ep.codec.pt && ep.codec.decode != nil {
			frame := ep.codec.decode(pkt.Payload)
			ep.rxq = append(ep.rxq, frame)
			if len(ep.rxq) > 50 { // bounded jitter buffer: drop the oldest
				ep.rxq = ep.rxq[1:]
			}
		}
		ep.mu.Unlock()
	}
}

func (ep *rtpEndpoint) pop() []int16 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if len(ep.rxq) == 0 {
		return nil
	}
	f := ep.rxq[0]
	ep.rxq = ep.rxq[1:]
	if len(f) < frameSamples {
		f = append(f, make([]int16, frameSamples-len(f))...)
	}
	return f[:frameSamples]
}

func (ep *rtpEndpoint) send(frame []int16, tick uint32) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed || ep.codec.encode == nil {
		return
	}
	ep.seq++
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ep.codec.pt, SequenceNumber: ep.seq,
		Timestamp: ep.tsBase + tick*ep.codec.tsStep, SSRC: ep.ssrc}, Payload: ep.codec.encode(frame)}
	b, err := pkt.Marshal()
	if err != nil {
		return
	}
	_, _ = ep.conn.WriteToUDP(b, ep.remote)
}

// toneGen produces a sine (or two summed sines) with an optional on/off cadence.
type toneGen struct {
	f1, f2    float64
	amp       float64
	rate      float64
	n         int // samples produced so far
	onFrames  int // cadence; 0 = continuous
	offFrames int
	frame     int
}

func newToneGen(freq, amplitude float64) *toneGen {
	if amplitude == 0 {
		amplitude = 8000
	}
	return &toneGen{f1: freq, amp: amplitude, rate: 8000}
}

// newRingback is the "ring" tone of indications.conf country us: 440+480 Hz, 2 s on, 4 s off.
func newRingback() *toneGen {
	return &toneGen{f1: 440, f2: 480, amp: 4000, rate: 8000, onFrames: 100, offFrames: 200}
}

func (g *toneGen) next(count int) []int16 {
	out := make([]int16, count)
	on := true
	if g.onFrames > 0 {
		on = g.frame%(g.onFrames+g.offFrames) < g.onFrames
	}
	g.frame++
	for i := range out {
		t := float64(g.n) / g.rate
		g.n++
		if !on {
			continue
		}
		v := math.Sin(2 * math.Pi * g.f1 * t)
		if g.f2 > 0 {
			v += math.Sin(2 * math.Pi * g.f2 * t)
		}
		out[i] = int16(v * g.amp)
	}
	return out
}

func mixInto(dst, src []int16) []int16 {
	if src == nil {
		return dst
	}
	if dst == nil {
		return append([]int16(nil), src...)
	}
	for i := range dst {
		v := int(dst[i]) + int(src[i])
		if v > math.MaxInt16 {
			v = math.MaxInt16
		} else if v < math.MinInt16 {
			v = math.MinInt16
		}
		dst[i] = int16(v)
	}
	return dst
}

// mixLoop is the media clock: every 20 ms it moves one frame of audio through every bridge.
func (s *Server) mixLoop() {
	defer s.wg.Done()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var tick uint32
	for {
		select {
		case <-s.stopMix:
			return
		case <-t.C:
		}
		tick++
		s.mu.Lock()
		s.mixTickLocked(tick)
		s.mu.Unlock()
	}
}

func (s *Server) peerFrameLocked(c *channel) []int16 {
	p := c.peer
	if p == nil || p.hungUp {
		return nil
	}
	var tone Tone
	switch p.phase {
	case phaseEarly:
		tone = p.script.EarlyMedia
	case phaseUp:
		if p.script.Echo {
			if p.lastHeard == nil {
				return nil
			}
			return append([]int16(nil), p.lastHeard...)
		}
		tone = p.script.Media
	default:
		return nil
	}
	if tone.Frequency <= 0 {
		return nil
	}
	if p.tone == nil || p.tone.f1 != tone.Frequency {
		p.tone = newToneGen(tone.Frequency, tone.Amplitude)
	}
	return p.tone.next(frameSamples)
}

func (s *Server) mixTickLocked(tick uint32) {
	silent := s.faults.RTPSilent
	produced := make(map[*channel][]int16, len(s.channels))
	for _, c := range s.channels {
		if !c.inStasis && c.kind != kindOutbound {
			continue
		}
		var f []int16
		switch c.kind {
		case kindExternalMedia:
			f = c.media.pop()
		case kindOutbound, kindInbound:
			f = s.peerFrameLocked(c)
		}
		if c.mutedIn {
			f = nil
		}
		produced[c] = f
	}
	for _, c := range s.channels {
		if c.kind == kindSnoop && c.snoopTarget != nil {
			var f []int16
			if c.spyIn {
				f = mixInto(f, produced[c.snoopTarget])
			}
			if c.spyOut {
				f = mixInto(f, c.snoopTarget.lastHeard)
			}
			produced[c] = f
		}
	}
	for _, b := range s.bridges {
		var all, moh []int16
		if b.moh != nil {
			moh = b.moh.next(frameSamples)
			all = mixInto(all, moh)
		}
		for _, m := range b.members {
			all = mixInto(all, produced[m])
			heard := mixInto(nil, moh)
			for _, o := range b.members {
				if o != m {
					heard = mixInto(heard, produced[o])
				}
			}
			m.lastHeard = heard
		}
		if b.recording != nil {
			if all == nil {
				all = make([]int16, frameSamples)
			}
			b.recording.samples = append(b.recording.samples, all...)
		}
	}
	for _, c := range s.channels {
		heard := c.lastHeard
		if c.bridge == nil {
			heard = nil
			c.lastHeard = nil
		}
		if pb := c.playback; pb != nil {
			heard = mixInto(heard, pb.gen.next(frameSamples))
			if pb.remaining > 0 {
				pb.remaining--
				if pb.remaining == 0 {
					s.finishPlaybackLocked(pb)
				}
			}
		}
		if c.mutedOut {
			heard = nil
		}
		switch c.kind {
		case kindExternalMedia:
			if c.ringback != nil {
				heard = c.ringback.next(frameSamples)
			}
			if heard != nil && !silent {
				c.media.send(heard, tick)
			}
		case kindOutbound, kindInbound:
			p := c.peer
			if p == nil || p.phase == phaseNone {
				continue
			}
			if heard == nil {
				p.received = append(p.received, make([]int16, frameSamples)...)
				p.lastHeard = nil
			} else {
				p.received = append(p.received, heard...)
				p.lastHeard = heard
			}
		}
	}
}
