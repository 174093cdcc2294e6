package webrtc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/crmphone/crmphone/webrtc/rtprelay"
)

// Leg relays one call's audio between the session's browser and one Asterisk externalMedia channel
// over plain RTP on a local UDP socket.
type Leg struct {
	session *Session
	conn    *net.UDPConn
	codec   Codec
	writer  rtpWriter

	remote atomic.Pointer[netip.AddrPort]
	muted  atomic.Bool

	// toAsterisk is used only by the session's track reader goroutine.
	toAsterisk *rtprelay.ToAsterisk

	closeOnce sync.Once
	closeErr  error
	done      sync.WaitGroup

	toAst       dirCounters
	toBrw       dirCounters
	mutedPkts   atomic.Uint64
	wrongSource atomic.Uint64
	noRemote    atomic.Uint64
	malformedIn atomic.Uint64 // from the browser
	malformed   atomic.Uint64 // from Asterisk
	sendErrors  atomic.Uint64 // towards Asterisk
	writeErrors atomic.Uint64 // towards the browser
	jitterTicks atomic.Uint64 // float64 bits
	reportsBase uint64        // browser reports received before this leg
}

type dirCounters struct {
	packets, bytes, lost atomic.Uint64
}

// rtpWriter is where the leg writes the packets for the browser (the session's TrackLocalStaticRTP).
type rtpWriter interface {
	Write(b []byte) (int, error)
}

// AttachCall opens the relay socket for a new call and makes it the session's active leg. Only one leg
// may be active: a second AttachCall before the first leg's Close returns ErrLegActive (the controller
// closes the leg when the call ends, so a stray second leg is a bug worth seeing, not something to hide).
// The session's PeerConnection is not touched: no renegotiation, the media path stays warm.
func (s *Session) AttachCall(ctx context.Context) (*Leg, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, ErrSessionClosed
	case s.pc == nil:
		return nil, ErrNotAnswered
	case s.leg != nil:
		return nil, ErrLegActive
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: s.engine.rtpBind})
	if err != nil {
		return nil, fmt.Errorf("webrtc: open relay socket: %w", err)
	}
	l := &Leg{
		session:     s,
		conn:        conn,
		codec:       s.codec,
		writer:      s.track,
		toAsterisk:  rtprelay.NewToAsterisk(s.codec.PayloadType, rand.Uint32(), uint16(rand.Uint32()), rand.Uint32(), s.codec.SilenceByte),
		reportsBase: s.report.count.Load(),
	}
	s.leg = l
	l.done.Add(1)
	go l.readAsterisk(s.toBrowser)
	s.active.Store(l)
	s.log.Info("call leg attached", "relay_addr", conn.LocalAddr().String(), "codec", s.codec.Name)
	return l, nil
}

// LocalAddr is the relay socket's address: give it to Asterisk as external_host.
func (l *Leg) LocalAddr() *net.UDPAddr { return l.conn.LocalAddr().(*net.UDPAddr) }

// Codec returns the codec of the leg (the session's).
func (l *Leg) Codec() Codec { return l.codec }

// SetRemote sets Asterisk's RTP address (UNICASTRTP_LOCAL_ADDRESS:UNICASTRTP_LOCAL_PORT from the
// externalMedia response). Audio from the browser is sent there; packets for the browser are accepted
// only from there. Before SetRemote nothing is sent and everything received is dropped.
func (l *Leg) SetRemote(addr *net.UDPAddr) error {
	if addr == nil {
		return errors.New("webrtc: nil remote address")
	}
	ap := addr.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if !ap.IsValid() || ap.Port() == 0 {
		return fmt.Errorf("webrtc: invalid remote address %v", addr)
	}
	l.remote.Store(&ap)
	return nil
}

// SetMuted controls the operator's microphone towards Asterisk. While muted the leg keeps sending one
// packet per browser packet, with the payload replaced by the codec's silence: Asterisk's strict RTP and
// any NAT or RTP-timeout logic on the path keep seeing a live stream, and the other party hears silence
// rather than a stream that stops (which some bridges and carriers treat as a dead call).
func (l *Leg) SetMuted(muted bool) { l.muted.Store(muted) }

// sendToAsterisk relays one browser packet; called by the session's track reader goroutine.
func (l *Leg) sendToAsterisk(pkt []byte) {
	remote := l.remote.Load()
	if remote == nil {
		l.noRemote.Add(1)
		return
	}
	muted := l.muted.Load()
	out, err := l.toAsterisk.Rewrite(pkt, muted)
	if err != nil {
		l.malformedIn.Add(1)
		return
	}
	l.toAst.lost.Store(l.toAsterisk.Loss.Lost)
	if _, err := l.conn.WriteToUDPAddrPort(out, *remote); err != nil {
		l.sendErrors.Add(1)
		return
	}
	l.toAst.packets.Add(1)
	l.toAst.bytes.Add(uint64(len(out) - rtprelay.HeaderLen))
	if muted {
		l.mutedPkts.Add(1)
	}
}

// readAsterisk relays Asterisk's packets to the browser until the socket is closed.
func (l *Leg) readAsterisk(rw *rtprelay.ToBrowser) {
	defer l.done.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		l.relayToBrowser(rw, buf[:n], from, monoNanos())
	}
}

func (l *Leg) relayToBrowser(rw *rtprelay.ToBrowser, pkt []byte, from netip.AddrPort, now int64) {
	remote := l.remote.Load()
	if remote == nil || from.Port() != remote.Port() || from.Addr().Unmap() != remote.Addr() {
		l.wrongSource.Add(1)
		return
	}
	if err := rw.Rewrite(pkt, now); err != nil {
		l.malformed.Add(1)
		return
	}
	l.toBrw.lost.Store(rw.Loss.Lost)
	l.jitterTicks.Store(mathFloat64bits(rw.Jitter.Value()))
	if _, err := l.writer.Write(pkt); err != nil {
		l.writeErrors.Add(1)
		return
	}
	l.toBrw.packets.Add(1)
	if start, end, err := rtprelay.PayloadBounds(pkt); err == nil {
		l.toBrw.bytes.Add(uint64(end - start))
	}
}

// Close detaches the leg: the relay socket is closed and the session is free for the next call. The
// session's PeerConnection and its outgoing stream continue.
func (l *Leg) Close() error {
	l.closeOnce.Do(func() {
		s := l.session
		s.active.CompareAndSwap(l, nil)
		l.closeErr = l.conn.Close()
		l.done.Wait()
		s.mu.Lock()
		if s.leg == l {
			s.leg = nil
		}
		s.mu.Unlock()
		st := l.Stats()
		s.log.Info("call leg closed",
			"to_asterisk_packets", st.ToAsterisk.Packets, "to_browser_packets", st.ToBrowser.Packets,
			"to_browser_lost", st.ToBrowser.Lost, "dropped_wrong_source", st.ToBrowser.DroppedWrongSource)
	})
	return l.closeErr
}
