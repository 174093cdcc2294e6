package webrtc

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"testing"

	pionwebrtc "github.com/pion/webrtc/v4"

	"github.com/crmphone/crmphone/webrtc/rtprelay"
)

type discardWriter struct{}

func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// newBenchLeg builds a leg without a PeerConnection: the relay socket plus a sink socket standing for
// Asterisk (never read: the kernel drops what does not fit, the send path is what is measured).
func newBenchLeg(b *testing.B, w rtpWriter) (*Leg, *net.UDPConn) {
	b.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close(); _ = sink.Close() })
	l := &Leg{session: &Session{}, conn: conn, codec: CodecPCMU, writer: w,
		toAsterisk: rtprelay.NewToAsterisk(0, 1234, 1, 1, CodecPCMU.SilenceByte)}
	if err := l.SetRemote(sink.LocalAddr().(*net.UDPAddr)); err != nil {
		b.Fatal(err)
	}
	return l, sink
}

// BenchmarkRelayToAsterisk: rewrite of a browser packet plus the sendto(2) on the relay socket.
func BenchmarkRelayToAsterisk(b *testing.B) {
	for _, muted := range []bool{false, true} {
		name := "voice"
		if muted {
			name = "muted"
		}
		b.Run(name, func(b *testing.B) {
			l, _ := newBenchLeg(b, discardWriter{})
			l.SetMuted(muted)
			pkt := make([]byte, rtprelay.HeaderLen+160)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				rtprelay.PutHeader(pkt, 0, false, uint16(i), uint32(160*i), 42)
				l.sendToAsterisk(pkt)
			}
			if st := l.Stats(); st.ToAsterisk.SendErrors != 0 || st.ToAsterisk.Packets == 0 {
				b.Fatalf("stats %+v", st.ToAsterisk)
			}
		})
	}
}

// BenchmarkRelayToBrowser: source check, rewrite, counters and the write to the track. "discard" is our
// part alone; "pion-track-unbound" adds TrackLocalStaticRTP.Write (parse into pion's pooled packet);
// "pion-connected" writes into a connected PeerConnection (SRTP + UDP mux send).
func BenchmarkRelayToBrowser(b *testing.B) {
	unbound, err := pionwebrtc.NewTrackLocalStaticRTP(CodecPCMU.capability(), "a", "b")
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, w rtpWriter) {
		l, sink := newBenchLeg(b, w)
		from := sink.LocalAddr().(*net.UDPAddr).AddrPort()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		rw := rtprelay.NewToBrowser(8000, 1, 1, 0)
		pkt := make([]byte, rtprelay.HeaderLen+160)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			rtprelay.PutHeader(pkt, 0, false, uint16(i), uint32(160*i), 42)
			l.relayToBrowser(rw, pkt, from, int64(i)*20_000_000)
		}
		if st := l.Stats(); st.ToBrowser.WriteErrors != 0 || st.ToBrowser.Packets == 0 {
			b.Fatalf("stats %+v", st.ToBrowser)
		}
	}
	b.Run("discard", func(b *testing.B) { run(b, discardWriter{}) })
	b.Run("pion-track-unbound", func(b *testing.B) { run(b, unbound) })
	b.Run("pion-connected", func(b *testing.B) {
		e := newTestEngine(b)
		s, _, _ := connect(b, e, []Codec{CodecPCMU}, CodecPCMU)
		run(b, s.track)
	})
}

// BenchmarkIdleSessionMemory reports the heap held per idle session (bytes/session) and the goroutines
// per session. "answered": sessions answered (PeerConnection, ICE agent, track, readers) but not
// connected. "connected": our session plus its test browser PeerConnection, both connected; the figure
// is per pair, so our side is roughly half of it.
func BenchmarkIdleSessionMemory(b *testing.B) {
	const n = 50
	measure := func(b *testing.B, create func() func()) {
		for b.Loop() {
			before, goroutinesBefore := heapInUse()
			closers := make([]func(), 0, n)
			for range n {
				closers = append(closers, create())
			}
			after, goroutinesAfter := heapInUse()
			b.ReportMetric(float64(after-before)/n, "bytes/session")
			b.ReportMetric(float64(goroutinesAfter-goroutinesBefore)/n, "goroutines/session")
			for _, c := range closers {
				c()
			}
		}
	}
	b.Run("answered", func(b *testing.B) {
		e := newTestEngine(b)
		offer := newBrowser(b, codecPreference, CodecG722).offer(b)
		measure(b, func() func() {
			s, err := e.NewSession(context.Background(), "idle")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Answer(context.Background(), offer); err != nil {
				b.Fatal(err)
			}
			return func() { _ = s.Close() }
		})
	})
	b.Run("connected", func(b *testing.B) {
		e := newTestEngine(b)
		measure(b, func() func() {
			s, br, _ := connect(b, e, []Codec{CodecPCMU}, CodecPCMU)
			return func() { _ = s.Close(); br.close() }
		})
	})
}

func heapInUse() (uint64, int) {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, runtime.NumGoroutine()
}
