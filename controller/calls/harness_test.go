package calls_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/ari/aritest"
	"github.com/crmphone/crmphone/controller/calls"
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

// recorder collects call.state events.
type recorder struct {
	mu     sync.Mutex
	states []calls.State
	ch     chan calls.State
}

func newRecorder() *recorder { return &recorder{ch: make(chan calls.State, 64)} }

func (r *recorder) Notify(event string, data any) {
	if event != "call.state" {
		return
	}
	s := data.(calls.State)
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
	r.ch <- s
}

// waitState waits for a call.state with the given state and returns it.
func (r *recorder) waitState(t *testing.T, state string) calls.State {
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
			if s.Held == held && s.State != calls.StateEnded {
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
	mgr   *calls.Manager
}

func newEnv(t *testing.T, cfg calls.Config) *env {
	t.Helper()
	p := newPBX(t)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "calls.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "Local/{number}@crmphone-outbound"
	}
	m := calls.NewManager(cfg, p.client, st, logging.Discard())
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
