// Package calls runs operators' calls through Asterisk: it creates the
// bridge, the externalMedia channel that carries the operator's audio and the
// far channel, follows Asterisk's events to tell the browser what happens,
// keeps the call record, and destroys everything the call created on every
// path out.
package calls

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/controller/store"
)

// PBX is what calls need from Asterisk; *ari.Client satisfies it.
type PBX interface {
	Subscribe(buffer int, keys ...string) *ari.Subscription
	CreateBridge(ctx context.Context, p ari.CreateBridgeParams) (*ari.Bridge, error)
	DestroyBridge(ctx context.Context, id string) error
	AddChannel(ctx context.Context, bridgeID string, p ari.AddChannelParams) error
	ExternalMedia(ctx context.Context, p ari.ExternalMediaParams) (*ari.Channel, error)
	CreateChannel(ctx context.Context, p ari.CreateParams) (*ari.Channel, error)
	Dial(ctx context.Context, id, caller string, timeout time.Duration) error
	Hangup(ctx context.Context, id, reason string) error
	RingStop(ctx context.Context, id string) error
	Answer(ctx context.Context, id string) error
	StartBridgeMOH(ctx context.Context, bridgeID, class string) error
	StopBridgeMOH(ctx context.Context, bridgeID string) error
	SendDTMF(ctx context.Context, id, digits string, p ari.DTMFParams) error
	ListChannels(ctx context.Context) ([]ari.Channel, error)
	ListBridges(ctx context.Context) ([]ari.Bridge, error)
}

// MediaLeg is the RTP relay between the operator's browser and one call's
// externalMedia channel; *webrtc.Leg satisfies it.
type MediaLeg interface {
	LocalAddr() *net.UDPAddr
	SetRemote(addr *net.UDPAddr) error
	SetMuted(muted bool)
	Close() error
}

// Media is an operator session's warm media path.
type Media interface {
	AttachCall(ctx context.Context) (MediaLeg, error)
	// ExternalMediaFormat is the Asterisk format matching the browser's codec
	// (g722, ulaw, alaw): no transcoding in crmphone.
	ExternalMediaFormat() string
	CodecName() string
	// LegStats returns the leg's counters as JSON for the call record.
	LegStats(leg MediaLeg) string
}

// Notifier delivers events to the operator's browser; *signaling.Conn satisfies it.
type Notifier interface {
	Notify(event string, data any)
}

// Records is where call records go; *store.Store satisfies it.
type Records interface {
	CreateCall(ctx context.Context, c store.Call) error
	UpdateCall(ctx context.Context, id string, u store.CallUpdate) error
	GetCall(ctx context.Context, id string) (store.Call, error)
}

// Events learns of calls answered and ended, for the CRM (webhooks). It is
// called in order per call, from the call's goroutine, after the record is
// written.
type Events interface {
	CallAnswered(ctx context.Context, c store.Call)
	CallEnded(ctx context.Context, c store.Call)
}

// Config tunes the call flow.
type Config struct {
	// Endpoint is the dial string template for outbound numbers; {number} is
	// replaced by the validated number, e.g. "Local/{number}@crmphone-outbound"
	// or "PJSIP/{number}@trunk".
	Endpoint string
	// RingTimeout is how long the far end may ring before the call ends as no_answer.
	RingTimeout time.Duration
	// DisconnectGrace is how long a call outlives its operator's websocket.
	DisconnectGrace time.Duration
	// MOHClass is the music-on-hold class the far end hears on hold.
	MOHClass string
	// SetupTimeout bounds each step of call setup (waiting for StasisStart...).
	SetupTimeout time.Duration
	// Events receives answered/ended calls; nil for none.
	Events Events
}

func (c *Config) defaults() {
	if c.Endpoint == "" {
		c.Endpoint = "Local/{number}@crmphone-outbound"
	}
	if c.RingTimeout == 0 {
		c.RingTimeout = 60 * time.Second
	}
	if c.DisconnectGrace == 0 {
		c.DisconnectGrace = 10 * time.Second
	}
	if c.MOHClass == "" {
		c.MOHClass = "default"
	}
	if c.SetupTimeout == 0 {
		c.SetupTimeout = 5 * time.Second
	}
}

// Call states and end causes, as the browser sees them.
const (
	StateDialing    = "dialing"
	StateRinging    = "ringing"
	StateEarlyMedia = "early_media"
	StateAnswered   = "answered"
	StateEnded      = "ended"

	CauseLocalHangup  = "local_hangup"
	CauseRemoteHangup = "remote_hangup"
	CauseBusy         = "busy"
	CauseNoAnswer     = "no_answer"
	CauseUnreachable  = "unreachable"
	CauseCancelled    = "cancelled"
	CauseFailed       = "failed"
)

// Errors a caller of the Manager can check with errors.Is.
var (
	ErrUnknownCall  = errors.New("unknown call")
	ErrInvalidState = errors.New("invalid call state")
	ErrBusyHere     = errors.New("the session already has a call")
	ErrInvalidDTMF  = errors.New("invalid DTMF digits")
)

// Operator is who places a call.
type Operator struct {
	ID         string
	SessionID  string
	AllowsDial func(number string) bool
}

// State is the data of a call.state event.
type State struct {
	CallID    string `json:"call_id"`
	Direction string `json:"direction"`
	Number    string `json:"number"`
	CRMRef    string `json:"crm_ref,omitempty"`
	State     string `json:"state"`
	Cause     string `json:"cause,omitempty"`
	Muted     bool   `json:"muted"`
	Held      bool   `json:"held"`
	At        int64  `json:"at"`
}

// Manager owns every live call of this controller.
type Manager struct {
	cfg     Config
	pbx     PBX
	records Records
	log     *slog.Logger
	now     func() time.Time

	mu      sync.Mutex
	calls   map[string]*Call
	wg      sync.WaitGroup
	closing bool
}

// NewManager creates the manager.
func NewManager(cfg Config, pbx PBX, records Records, log *slog.Logger) *Manager {
	cfg.defaults()
	return &Manager{cfg: cfg, pbx: pbx, records: records, log: log, now: time.Now, calls: map[string]*Call{}}
}

// Resource ids carry the call id so that what a call created can be found
// (and cleaned up) after a restart or an ARI reconnect.
const idPrefix = "crm-"

func newCallID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "c" + hex.EncodeToString(b[:])
}

// Dial places an outbound call for the operator. It validates the number,
// records the call and returns at once; progress reaches notify as
// call.state events.
func (m *Manager) Dial(ctx context.Context, op Operator, media Media, notify Notifier, rawNumber, crmRef string) (*Call, error) {
	number, err := NormalizeNumber(rawNumber)
	if err != nil {
		return nil, err
	}
	if op.AllowsDial != nil && !op.AllowsDial(number) {
		return nil, fmt.Errorf("%w: %s", ErrNotAllowed, number)
	}
	if len(crmRef) > 128 {
		return nil, fmt.Errorf("%w: crm_ref longer than 128 characters", ErrInvalidNumber)
	}
	id := newCallID()
	c := &Call{
		m: m, id: id, op: op, media: media, notify: notify, number: number, crmRef: crmRef,
		direction: "outbound", state: StateDialing, created: m.now(),
		bridgeID: idPrefix + "b-" + id, mediaChanID: idPrefix + "m-" + id, farChanID: idPrefix + "f-" + id,
		cmds: make(chan command, 8), done: make(chan struct{}),
	}
	if err := m.register(c); err != nil {
		return nil, err
	}

	if err := m.records.CreateCall(ctx, store.Call{
		ID: id, Direction: c.direction, OperatorID: op.ID, SessionID: op.SessionID, Number: number, CRMRef: crmRef,
		State: StateDialing, Codec: media.CodecName(), CreatedAt: c.created,
		FarChannelID: c.farChanID, MediaChannelID: c.mediaChanID, BridgeID: c.bridgeID,
	}); err != nil {
		m.forget(c)
		m.wg.Done()
		return nil, err
	}
	c.publish()
	go c.run(context.WithoutCancel(ctx))
	return c, nil
}

// register adds a new call: one call per operator session, none while
// shutting down.
func (m *Manager) register(c *Call) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return fmt.Errorf("%w: shutting down", ErrInvalidState)
	}
	for _, other := range m.calls {
		if other.op.SessionID == c.op.SessionID {
			return ErrBusyHere
		}
	}
	m.calls[c.id] = c
	m.wg.Add(1)
	return nil
}

// Get returns a live call of the session.
func (m *Manager) Get(sessionID, callID string) (*Call, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.calls[callID]
	if !ok || c.op.SessionID != sessionID {
		return nil, fmt.Errorf("%w: %q", ErrUnknownCall, callID)
	}
	return c, nil
}

// Active is the number of live calls.
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// SessionClosed starts the grace period of the session's calls: if the
// operator's websocket does not come back in time, the far end is hung up.
func (m *Manager) SessionClosed(sessionID string) {
	m.mu.Lock()
	var mine []*Call
	for _, c := range m.calls {
		if c.op.SessionID == sessionID {
			mine = append(mine, c)
		}
	}
	m.mu.Unlock()
	for _, c := range mine {
		c.send(command{kind: cmdDetach})
	}
}

// Shutdown hangs up every call and waits for their cleanup.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closing = true
	all := make([]*Call, 0, len(m.calls))
	for _, c := range m.calls {
		all = append(all, c)
	}
	m.mu.Unlock()
	for _, c := range all {
		c.send(command{kind: cmdHangup, by: "system"})
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("calls: shutdown: %w", ctx.Err())
	}
}

// Reconcile is run after the ARI link comes back: Asterisk resources named
// like ours that no live call owns are leftovers (of a crash, or of a call
// that ended while the link was down) and are removed; live calls whose far
// channel vanished are ended.
func (m *Manager) Reconcile(ctx context.Context) error {
	chans, err := m.pbx.ListChannels(ctx)
	if err != nil {
		return fmt.Errorf("calls: reconcile: %w", err)
	}
	bridges, err := m.pbx.ListBridges(ctx)
	if err != nil {
		return fmt.Errorf("calls: reconcile: %w", err)
	}
	m.mu.Lock()
	owned := map[string]*Call{}
	for _, c := range m.calls {
		owned[c.bridgeID], owned[c.mediaChanID], owned[c.farChanID] = c, c, c
	}
	m.mu.Unlock()
	present := map[string]bool{}
	for _, ch := range chans {
		present[ch.ID] = true
		if strings.HasPrefix(ch.ID, idPrefix) && owned[ch.ID] == nil {
			m.log.Info("reconcile: hanging up orphan channel", "channel", ch.ID)
			if err := m.pbx.Hangup(ctx, ch.ID, "normal"); err != nil && !errors.Is(err, ari.ErrNotFound) {
				m.log.Warn("reconcile: hangup", "channel", ch.ID, "err", err)
			}
		}
	}
	for _, b := range bridges {
		if strings.HasPrefix(b.ID, idPrefix) && owned[b.ID] == nil {
			m.log.Info("reconcile: destroying orphan bridge", "bridge", b.ID)
			if err := m.pbx.DestroyBridge(ctx, b.ID); err != nil && !errors.Is(err, ari.ErrNotFound) {
				m.log.Warn("reconcile: destroy bridge", "bridge", b.ID, "err", err)
			}
		}
	}
	m.mu.Lock()
	var lost []*Call
	for _, c := range m.calls {
		if c.setupDone() && !present[c.farChanID] {
			lost = append(lost, c)
		}
	}
	m.mu.Unlock()
	for _, c := range lost {
		c.send(command{kind: cmdLost})
	}
	return nil
}

// errIsGone reports errors meaning the channel no longer exists or left Stasis
// (the caller hung up meanwhile).
func errIsGone(err error) bool {
	return errors.Is(err, ari.ErrNotFound) || errors.Is(err, ari.ErrNotInStasis)
}

// emit hands the call's record to Events.
func (m *Manager) emit(ctx context.Context, id string, f func(Events, context.Context, store.Call)) {
	if m.cfg.Events == nil {
		return
	}
	rec, err := m.records.GetCall(ctx, id)
	if err != nil {
		m.log.Error("call record read failed", "call", id, "err", err)
		return
	}
	f(m.cfg.Events, ctx, rec)
}

func (m *Manager) forget(c *Call) {
	m.mu.Lock()
	delete(m.calls, c.id)
	m.mu.Unlock()
}
