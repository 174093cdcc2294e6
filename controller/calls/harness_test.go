package calls

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/ari/aritest"
	"github.com/crmphone/crmphone/controller/logging"
	"github.com/crmphone/crmphone/controller/store"
)

// pbx is Asterisk for a test: the simulator, or a real Asterisk when
// CRMPHONE_TEST_ARI_URL is set (then sim is nil and far ends are the
// asterisk-conf self-test extensions).
type pbx struct {
	client *ari.Client
	sim    *aritest.Server
}

func newPBX(t *testing.T) *pbx {
	t.Helper()
	cfg := ari.Config{Application: "crmphone", RequestTimeout: 3 * time.Second, BackoffMin: 20 * time.Millisecond}
	p := &pbx{}
	if url := os.Getenv("CRMPHONE_TEST_ARI_URL"); url != "" {
		cfg.BaseURL, cfg.Username, cfg.Password = url, os.Getenv("CRMPHONE_TEST_ARI_USER"), os.Getenv("CRMPHONE_TEST_ARI_PASSWORD")
	} else {
		p.sim = aritest.New(t)
		cfg.BaseURL, cfg.Username, cfg.Password = p.sim.URL(), p.sim.Username(), p.sim.Password()
	}
	c, err := ari.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.client = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		c.Close()
		if p.sim != nil {
			p.sim.Close()
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for !c.State().Connected {
		if time.Now().After(deadline) {
			t.Fatalf("ARI events websocket did not connect: %+v", c.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p
}

// needSim skips tests whose far end must be scripted.
func (p *pbx) needSim(t *testing.T) {
	if p.sim == nil {
		t.Skip("needs a scripted far end: runs against the simulator only")
	}
}

// assertClean fails if anything the call created is still in Asterisk.
func (p *pbx) assertClean(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Second)
	for {
		chans, err1 := p.client.ListChannels(ctx)
		bridges, err2 := p.client.ListBridges(ctx)
		if err1 == nil && err2 == nil && len(chans) == 0 && len(bridges) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Asterisk still holds channels %v bridges %v (%v %v)", ids(chans), bridgeIDs(bridges), err1, err2)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(cs []ari.Channel) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func bridgeIDs(bs []ari.Bridge) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.ID)
	}
	return out
}

// fakeMedia plays the operator's browser leg: real UDP RTP (µ-law), a tone out,
// everything received decoded.
type fakeMedia struct {
	toneHz float64
	mu     sync.Mutex
	legs   []*fakeLeg
}

func (f *fakeMedia) ExternalMediaFormat() string { return "ulaw" }
func (f *fakeMedia) CodecName() string           { return "PCMU" }
func (f *fakeMedia) LegStats(l MediaLeg) string {
	b, _ := json.Marshal(map[string]any{"sent": l.(*fakeLeg).sent.Load()})
	return string(b)
}

func (f *fakeMedia) AttachCall(context.Context) (MediaLeg, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	l := &fakeLeg{conn: conn, toneHz: f.toneHz, stop: make(chan struct{}), done: make(chan struct{})}
	f.mu.Lock()
	f.legs = append(f.legs, l)
	f.mu.Unlock()
	go l.receive()
	return l, nil
}

func (f *fakeMedia) leg(t *testing.T) *fakeLeg {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.legs) == 0 {
		t.Fatal("no media leg attached")
	}
	return f.legs[len(f.legs)-1]
}

type fakeLeg struct {
	conn    *net.UDPConn
	toneHz  float64
	remote  atomic.Pointer[net.UDPAddr]
	muted   atomic.Bool
	sent    atomic.Int64
	closed  atomic.Bool
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	samples []int16
}

func (l *fakeLeg) LocalAddr() *net.UDPAddr { return l.conn.LocalAddr().(*net.UDPAddr) }
func (l *fakeLeg) SetMuted(m bool)         { l.muted.Store(m) }

func (l *fakeLeg) SetRemote(a *net.UDPAddr) error {
	l.remote.Store(a)
	go l.sendTone()
	return nil
}

func (l *fakeLeg) sendTone() {
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

func (l *fakeLeg) receive() {
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

func (l *fakeLeg) received() []int16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int16(nil), l.samples...)
}

func (l *fakeLeg) Close() error {
	l.once.Do(func() {
		l.closed.Store(true)
		close(l.stop)
		l.conn.Close()
		<-l.done
	})
	return nil
}

// recorder collects call.state events.
type recorder struct {
	mu     sync.Mutex
	states []State
	ch     chan State
}

func newRecorder() *recorder { return &recorder{ch: make(chan State, 64)} }

func (r *recorder) Notify(event string, data any) {
	if event != "call.state" {
		return
	}
	s := data.(State)
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
	r.ch <- s
}

// waitState waits for a call.state with the given state and returns it.
func (r *recorder) waitState(t *testing.T, state string) State {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-r.ch:
			if s.State == state {
				return s
			}
		case <-timeout:
			t.Fatalf("no %q state; saw %v", state, r.seen())
		}
	}
}

// waitHeld waits for a state event whose held flag is held.
func (r *recorder) waitHeld(t *testing.T, held bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-r.ch:
			if s.Held == held && s.State != StateEnded {
				return
			}
		case <-timeout:
			t.Fatalf("no state with held=%v; saw %v", held, r.seen())
		}
	}
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.states {
		out = append(out, s.State+"/"+s.Cause)
	}
	return out
}

type env struct {
	pbx   *pbx
	store *store.Store
	mgr   *Manager
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	p := newPBX(t)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "calls.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "Local/{number}@crmphone-outbound"
	}
	m := NewManager(cfg, p.client, st, logging.Discard())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Shutdown(ctx); err != nil {
			t.Errorf("manager shutdown: %v", err)
		}
		st.Close()
	})
	return &env{pbx: p, store: st, mgr: m}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
