// Package callstest has test doubles for the call flow: a fake operator
// media path speaking real UDP RTP to the ARI simulator.
package callstest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmphone/crmphone/ari/aritest"
	"github.com/crmphone/crmphone/controller/calls"
)

var _ calls.Media = (*Media)(nil)

// Media plays the operator's browser leg: real UDP RTP (µ-law), a tone out,
// everything received decoded.
type Media struct {
	// ToneHz is what the operator "says" (a µ-law tone), 0 for silence.
	ToneHz float64
	mu     sync.Mutex
	legs   []*Leg
}

func (f *Media) ExternalMediaFormat() string { return "ulaw" }
func (f *Media) CodecName() string           { return "PCMU" }
func (f *Media) LegStats(l calls.MediaLeg) string {
	b, _ := json.Marshal(map[string]any{"sent": l.(*Leg).sent.Load()})
	return string(b)
}

func (f *Media) AttachCall(context.Context) (calls.MediaLeg, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	l := &Leg{conn: conn, toneHz: f.ToneHz, stop: make(chan struct{}), done: make(chan struct{})}
	f.mu.Lock()
	f.legs = append(f.legs, l)
	f.mu.Unlock()
	go l.receive()
	return l, nil
}

// Leg returns the newest leg (the test fails if none was attached).
func (f *Media) Leg(t testing.TB) *Leg {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.legs) == 0 {
		t.Fatal("no media leg attached")
	}
	return f.legs[len(f.legs)-1]
}

type Leg struct {
	conn    *net.UDPConn
	toneHz  float64
	remote  atomic.Pointer[net.UDPAddr]
	muted   atomic.Bool
	sent    atomic.Int64
	Closed  atomic.Bool
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	samples []int16
}

func (l *Leg) LocalAddr() *net.UDPAddr { return l.conn.LocalAddr().(*net.UDPAddr) }
func (l *Leg) SetMuted(m bool)         { l.muted.Store(m) }

func (l *Leg) SetRemote(a *net.UDPAddr) error {
	l.remote.Store(a)
	go l.sendTone()
	return nil
}

func (l *Leg) sendTone() {
	tone := aritest.GenerateTone(l.toneHz, 8000, 8000*60, 8000)
	pkt := make([]byte, 12+160)
	pkt[0] = 0x80
	binary.BigEndian.PutUint32(pkt[8:], 0x1234)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		for j := 0; j < 160; j++ {
			s := tone[(i*160+j)%len(tone)]
			if l.muted.Load() {
				s = 0
			}
			pkt[12+j] = aritest.EncodeULaw(s)
		}
		if _, err := l.conn.WriteToUDP(pkt, l.remote.Load()); err == nil {
			l.sent.Add(1)
		}
	}
}

func (l *Leg) receive() {
	defer close(l.done)
	buf := make([]byte, 1500)
	for {
		n, _, err := l.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n <= 12 {
			continue
		}
		l.mu.Lock()
		for _, b := range buf[12:n] {
			l.samples = append(l.samples, aritest.DecodeULaw(b))
		}
		l.mu.Unlock()
	}
}

// Received is what the operator has heard, decoded.
func (l *Leg) Received() []int16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int16(nil), l.samples...)
}

func (l *Leg) Close() error {
	l.once.Do(func() {
		l.Closed.Store(true)
		close(l.stop)
		l.conn.Close()
		<-l.done
	})
	return nil
}
