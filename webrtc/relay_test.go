package webrtc

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/crmphone/crmphone/webrtc/g711"
)

func payloadOf(b byte) []byte { return bytes.Repeat([]byte{b}, 160) }

// TestAsteriskToBrowserAcrossGapAndCalls: one continuous stream for the browser across a 500 ms silence
// and across two call legs whose Asterisk streams have unrelated SSRC/seq/ts, on a session that stays
// connected without renegotiation.
func TestAsteriskToBrowserAcrossGapAndCalls(t *testing.T) {
	e := newTestEngine(t)
	s, b, states := connect(t, e, []Codec{CodecPCMU}, CodecPCMU)
	localSDP := s.pc.CurrentLocalDescription().SDP
	ctx := context.Background()

	leg1, err := s.AttachCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AttachCall(ctx); !errors.Is(err, ErrLegActive) {
		t.Fatalf("second AttachCall while a leg is active: %v, want ErrLegActive", err)
	}
	ast1 := newFakeAsterisk(t)
	if err := leg1.SetRemote(ast1.addr()); err != nil {
		t.Fatal(err)
	}

	var got []*rtp.Packet
	receive := func(n int) []*rtp.Packet {
		batch := make([]*rtp.Packet, n)
		for i := range batch {
			batch[i] = b.next(t)
		}
		got = append(got, batch...)
		return batch
	}
	checkContinuous := func(batch []*rtp.Packet, prev *rtp.Packet, wantPayloads []byte) {
		t.Helper()
		for i, p := range batch {
			if !bytes.Equal(p.Payload, payloadOf(wantPayloads[i])) {
				t.Fatalf("packet %d payload %#x..., want %#x", i, p.Payload[0], wantPayloads[i])
			}
			if prev != nil {
				if p.SequenceNumber != prev.SequenceNumber+1 {
					t.Fatalf("seq %d after %d", p.SequenceNumber, prev.SequenceNumber)
				}
				if p.SSRC != prev.SSRC {
					t.Fatalf("browser saw SSRC change %#x -> %#x", prev.SSRC, p.SSRC)
				}
				if i > 0 && (p.Timestamp != prev.Timestamp+160 || p.Marker) {
					t.Fatalf("packet %d ts %d marker %v after ts %d", i, p.Timestamp, p.Marker, prev.Timestamp)
				}
			}
			prev = p
		}
	}

	// Call 1, first talk spurt.
	for i := range 10 {
		ast1.send(t, leg1.LocalAddr(), uint16(65530+i), uint32(4294967000+160*i), 0xAAAA, payloadOf(byte(i)))
	}
	first := receive(10)
	if !first[0].Marker {
		t.Error("first packet to the browser has no marker")
	}
	checkContinuous(first, nil, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})

	// 500 ms of silence from Asterisk (the other party stopped talking), then more audio.
	time.Sleep(500 * time.Millisecond)
	for i := range 5 {
		ast1.send(t, leg1.LocalAddr(), uint16(65530+10+i), uint32(4294967000+160*(10+i)), 0xAAAA, payloadOf(byte(0x10+i)))
	}
	afterGap := receive(5)
	prev := first[9]
	if !afterGap[0].Marker {
		t.Error("no marker on the first packet after the gap")
	}
	jump := afterGap[0].Timestamp - prev.Timestamp
	if jump < 500*8 || jump > 5*8000 {
		t.Errorf("timestamp advanced %d ticks over a >= 500 ms gap, want >= 4000 (and not absurd)", jump)
	}
	checkContinuous(afterGap, prev, []byte{0x10, 0x11, 0x12, 0x13, 0x14})

	st1 := waitStats(t, leg1, func(st LegStats) bool { return st.ToBrowser.Packets == 15 && st.BrowserReport != nil })
	if st1.ToBrowser.Lost != 0 || st1.ToBrowser.Bytes != 15*160 || st1.ToBrowser.DroppedWrongSource != 0 {
		t.Errorf("leg 1 to-browser stats %+v", st1.ToBrowser)
	}
	if r := st1.BrowserReport; r.TotalLost != 0 || r.FractionLost != 0 {
		t.Errorf("browser reports loss: %+v", r)
	}
	if err := leg1.Close(); err != nil {
		t.Fatal(err)
	}

	// Call 2: a new UnicastRTP channel with its own SSRC, seq and ts.
	leg2, err := s.AttachCall(ctx)
	if err != nil {
		t.Fatalf("AttachCall after the first leg closed: %v", err)
	}
	defer leg2.Close()
	ast2 := newFakeAsterisk(t)
	if err := leg2.SetRemote(ast2.addr()); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		ast2.send(t, leg2.LocalAddr(), uint16(7+i), uint32(99+160*i), 0xBBBB, payloadOf(byte(0x20+i)))
	}
	call2 := receive(5)
	prev = afterGap[4]
	if !call2[0].Marker {
		t.Error("no marker on the first packet of the second call")
	}
	if int32(call2[0].Timestamp-prev.Timestamp) < 160 {
		t.Errorf("timestamp went from %d to %d at the call change", prev.Timestamp, call2[0].Timestamp)
	}
	checkContinuous(call2, prev, []byte{0x20, 0x21, 0x22, 0x23, 0x24})

	// The operator's audio reaches the second call's Asterisk.
	b.send(t, 1, 160, payloadOf(0x77))
	if p, _ := ast2.next(t); !bytes.Equal(p.Payload, payloadOf(0x77)) || p.PayloadType != 0 {
		t.Fatalf("second leg got PT %d payload %#x", p.PayloadType, p.Payload[0])
	}

	// Warm path: the PeerConnection was never renegotiated or disconnected.
	if s.pc.CurrentLocalDescription().SDP != localSDP {
		t.Error("local description changed between calls")
	}
	if s.State() != StateConnected {
		t.Errorf("session state %s", s.State())
	}
	if bad := slices.ContainsFunc(states.snapshot(), func(st State) bool {
		return st == StateDisconnected || st == StateFailed || st == StateClosed
	}); bad {
		t.Errorf("state changes %v", states.snapshot())
	}
	if len(got) != 20 {
		t.Fatalf("browser got %d packets, want 20", len(got))
	}
}

func TestMuteSendsSilence(t *testing.T) {
	for _, codec := range codecPreference {
		t.Run(codec.Name, func(t *testing.T) {
			e := newTestEngine(t)
			s, b, _ := connect(t, e, []Codec{codec}, codec)
			leg, err := s.AttachCall(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer leg.Close()
			ast := newFakeAsterisk(t)
			if err := leg.SetRemote(ast.addr()); err != nil {
				t.Fatal(err)
			}
			tone := ulawTone(440, 10)
			silence := bytes.Repeat([]byte{codec.SilenceByte}, 160)

			leg.SetMuted(true)
			for i := range 5 {
				b.send(t, uint16(i), uint32(160*i), tone[i])
			}
			var prevSeq uint16
			for i := range 5 {
				p, _ := ast.next(t)
				if !bytes.Equal(p.Payload, silence) {
					t.Fatalf("muted packet %d carries audio", i)
				}
				if i > 0 && p.SequenceNumber != prevSeq+1 {
					t.Fatalf("muted stream seq %d after %d", p.SequenceNumber, prevSeq)
				}
				prevSeq = p.SequenceNumber
			}
			leg.SetMuted(false)
			for i := 5; i < 10; i++ {
				b.send(t, uint16(i), uint32(160*i), tone[i])
			}
			for i := 5; i < 10; i++ {
				p, _ := ast.next(t)
				if !bytes.Equal(p.Payload, tone[i]) || p.SequenceNumber != prevSeq+1 {
					t.Fatalf("unmuted packet %d: seq %d after %d, payload intact %v", i, p.SequenceNumber, prevSeq, bytes.Equal(p.Payload, tone[i]))
				}
				prevSeq = p.SequenceNumber
			}
			st := waitStats(t, leg, func(st LegStats) bool { return st.ToAsterisk.Packets == 10 })
			if st.ToAsterisk.MutedPackets != 5 {
				t.Fatalf("muted packets %d, want 5", st.ToAsterisk.MutedPackets)
			}
		})
	}
}

func TestPacketsFromWrongSourceAreDropped(t *testing.T) {
	e := newTestEngine(t)
	s, b, _ := connect(t, e, []Codec{CodecPCMU}, CodecPCMU)
	leg, err := s.AttachCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	ast := newFakeAsterisk(t)
	intruder := newFakeAsterisk(t)

	// Before SetRemote nothing is accepted, not even from the future remote.
	ast.send(t, leg.LocalAddr(), 1, 160, 5, payloadOf(0x01))
	waitStats(t, leg, func(st LegStats) bool { return st.ToBrowser.DroppedWrongSource == 1 })
	if err := leg.SetRemote(ast.addr()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		intruder.send(t, leg.LocalAddr(), uint16(100+i), 0, 6, payloadOf(0xEE))
	}
	ast.send(t, leg.LocalAddr(), 2, 320, 5, payloadOf(0x02))
	if p := b.next(t); !bytes.Equal(p.Payload, payloadOf(0x02)) {
		t.Fatalf("browser got payload %#x, want the remote's 0x02", p.Payload[0])
	}
	st := waitStats(t, leg, func(st LegStats) bool { return st.ToBrowser.Packets == 1 })
	if st.ToBrowser.DroppedWrongSource != 4 {
		t.Fatalf("dropped %d, want 4 (1 before SetRemote + 3 from the intruder)", st.ToBrowser.DroppedWrongSource)
	}
	if err := leg.SetRemote(nil); err == nil {
		t.Error("SetRemote(nil) accepted")
	}
	if err := leg.SetRemote(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err == nil {
		t.Error("SetRemote with port 0 accepted")
	}
}

// TestToneSurvivesBothDirections decodes what each side received: the tone's frequency is intact.
func TestToneSurvivesBothDirections(t *testing.T) {
	e := newTestEngine(t)
	s, b, _ := connect(t, e, []Codec{CodecPCMU}, CodecPCMU)
	leg, err := s.AttachCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	ast := newFakeAsterisk(t)
	if err := leg.SetRemote(ast.addr()); err != nil {
		t.Fatal(err)
	}
	toBrowser := ulawTone(1000, 10)
	for i, f := range toBrowser {
		ast.send(t, leg.LocalAddr(), uint16(i), uint32(160*i), 1, f)
	}
	var pcm []int16
	for range toBrowser {
		pcm = append(pcm, g711.DecodeULawFrame(make([]int16, 160), b.next(t).Payload)...)
	}
	if f := g711.DominantFrequency(pcm, 8000, 440, 1000, 2000); f != 1000 {
		t.Fatalf("browser heard %v Hz, want 1000", f)
	}
}
