package aritest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Outcome is how a dialled far end finally reacts.
type Outcome int

const (
	// Answer with 200 OK after AnswerAfter.
	Answer Outcome = iota
	// Busy answers 486 Busy Here after AnswerAfter.
	Busy
	// NoAnswer never answers; only the dial timeout (or a DELETE) ends the call.
	NoAnswer
)

// Tone is a sine tone a far end sends; a zero Frequency means silence (no RTP at all).
type Tone struct {
	Frequency float64 // Hz
	Amplitude float64 // peak, 0..32767; 0 means 8000
}

// FarEnd scripts the remote party of a dialled channel or of an injected inbound call.
// All "After" delays of the dial phase count from the dial (or originate); the ones of the
// call phase count from the answer.
type FarEnd struct {
	Ring          bool          // send 180 Ringing (no SDP) after RingAfter
	RingAfter     time.Duration //
	Progress      bool          // send 183 with SDP after ProgressAfter, then EarlyMedia
	ProgressAfter time.Duration //
	EarlyMedia    Tone          // audio between 183 and the answer
	Outcome       Outcome       //
	AnswerAfter   time.Duration // delay of the 200 OK, or of the 486 for Busy
	Media         Tone          // audio after the answer
	Echo          bool          // after the answer, send back what is received (Echo())
	HangupAfter   time.Duration // far end hangs up this long after the answer; 0 = never
	DTMF          string        // digits sent after the answer, one every 250 ms
	DTMFAfter     time.Duration //
	// AbandonAfter (inbound calls only): the caller hangs up this long after the call started
	// if it has not been answered by then; 0 = never.
	AbandonAfter time.Duration
}

// DefaultFarEnd answers after 100 ms and stays silent.
func DefaultFarEnd() FarEnd { return FarEnd{Outcome: Answer, AnswerAfter: 100 * time.Millisecond} }

// Self-test extensions of crmphone-selftest (asterisk-conf/crmphone_extensions.conf), keyed by
// name and number: echo/9901, tone/9902, ring-answer/9903, busy/9904.
func selfTestFarEnd(key string) (FarEnd, bool) {
	switch key {
	case "echo", "9901":
		return FarEnd{Outcome: Answer, Echo: true}, true
	case "tone", "9902":
		return FarEnd{Outcome: Answer, Media: Tone{Frequency: 1000, Amplitude: 8000}}, true
	case "ring-answer", "9903":
		return FarEnd{Ring: true, Outcome: Answer, AnswerAfter: 3 * time.Second, Echo: true}, true
	case "busy", "9904":
		return FarEnd{Outcome: Busy}, true
	}
	return FarEnd{}, false
}

// SetFarEnd programs the far end for dialled endpoints matching key. key may be the full
// endpoint ("PJSIP/sipp-uas", "Local/9901@crmphone-selftest"), the resource ("sipp-uas",
// "5551234@trunk") or the number/extension before "@" ("5551234", "9901").
func (s *Server) SetFarEnd(key string, f FarEnd) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.farEnds[key] = f
}

func (s *Server) farEndForLocked(endpoint, resource string) FarEnd {
	user := resource
	if i := strings.Index(user, "@"); i >= 0 {
		user = user[:i]
	}
	for _, k := range []string{endpoint, resource, user} {
		if f, ok := s.farEnds[k]; ok {
			return f
		}
	}
	if f, ok := selfTestFarEnd(user); ok {
		return f
	}
	return DefaultFarEnd()
}

type mediaPhase int

const (
	phaseNone mediaPhase = iota
	phaseEarly
	phaseUp
)

// Peer is the simulated remote party of a channel. Its methods are safe for concurrent use.
type Peer struct {
	s            *Server
	channelID    string
	endpoint     string
	script       FarEnd
	phase        mediaPhase
	received     []int16
	lastHeard    []int16
	hungUp       bool
	tone         *toneGen
	dtmfReceived string
	c            *channel
}

func (s *Server) newPeerLocked(c *channel, f FarEnd) *Peer {
	p := &Peer{s: s, channelID: c.id, endpoint: c.resource, script: f, c: c}
	s.peers[c.id] = p
	return p
}

// ChannelID is the id of the channel this peer is the far end of.
func (p *Peer) ChannelID() string { return p.channelID }

// Received returns the audio the far end has heard so far (8 kHz, 16-bit linear), from the
// moment media was established (183 or answer). Silence is included as zeros.
func (p *Peer) Received() []int16 {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return append([]int16(nil), p.received...)
}

// DTMFReceived returns the digits sent to the channel with POST /channels/{id}/dtmf.
func (p *Peer) DTMFReceived() string {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.dtmfReceived
}

// HungUp reports whether the channel has ended.
func (p *Peer) HungUp() bool {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.hungUp
}

// SetTone changes what the far end sends from now on (zero Tone = silence).
func (p *Peer) SetTone(t Tone) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	p.script.Media, p.script.EarlyMedia = t, t
	p.tone = nil
}

// SendDTMF makes the far end press digits: one ChannelDtmfReceived event per digit.
func (p *Peer) SendDTMF(digits string) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if p.hungUp {
		return ErrHungUp
	}
	for _, d := range digits {
		p.s.channelEventLocked(p.c, "ChannelDtmfReceived", event{"digit": string(d), "duration_ms": 100})
	}
	return nil
}

// Hangup makes the far end hang up (BYE, or CANCEL before the answer).
func (p *Peer) Hangup() error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if p.hungUp {
		return ErrHungUp
	}
	p.s.remoteHangupLocked(p.c)
	return nil
}

// ErrHungUp is returned for operations on a far end whose call has ended.
var ErrHungUp = errors.New("aritest: call already hung up")

// Peer returns the far end of channel id (also after the channel has ended), or nil.
func (s *Server) Peer(channelID string) *Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peers[channelID]
}

// WaitPeer waits until a far end for channelID exists.
func (s *Server) WaitPeer(ctx context.Context, channelID string) (*Peer, error) {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		if p := s.Peer(channelID); p != nil {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("aritest: waiting for peer of %s: %w", channelID, ctx.Err())
		case <-t.C:
		}
	}
}

func (s *Server) scriptAfterLocked(c *channel, d time.Duration, fn func()) {
	t := s.afterLocked(d, func() {
		if s.channels[c.id] != c {
			return
		}
		fn()
	})
	if t != nil {
		c.scriptTmrs = append(c.scriptTmrs, t)
	}
}

// startDialLocked runs the far end script after POST /channels/{id}/dial or an originate.
func (s *Server) startDialLocked(c *channel, timeoutSec int) {
	if s.channels[c.id] != c {
		return
	}
	f := c.peer.script
	later := ""
	if c.originate {
		later = c.resource
	}
	s.dialEventLocked(c, "", c.resource)
	if f.Ring {
		s.scriptAfterLocked(c, f.RingAfter, func() {
			if c.answered {
				return
			}
			s.setStateLocked(c, "Ringing")
			s.dialEventLocked(c, "RINGING", later)
			if b := c.bridge; b != nil {
				for _, m := range b.members {
					if m.kind == kindExternalMedia && m.ringback == nil {
						m.ringback = newRingback()
					}
				}
			}
		})
	}
	if f.Progress {
		s.scriptAfterLocked(c, f.ProgressAfter, func() {
			if c.answered {
				return
			}
			s.dialEventLocked(c, "PROGRESS", later)
			c.peer.phase = phaseEarly
			s.stopRingbackLocked(c)
		})
	}
	switch f.Outcome {
	case Answer:
		s.scriptAfterLocked(c, f.AnswerAfter, func() {
			c.answered = true
			s.stopTimerLocked(c.dialTimer)
			s.setStateLocked(c, "Up")
			s.dialEventLocked(c, "ANSWER", later)
			c.peer.phase = phaseUp
			c.peer.tone = nil
			s.stopRingbackLocked(c)
			if c.originate {
				s.enterStasisLocked(c)
			}
			s.startCallPhaseLocked(c)
		})
	case Busy:
		s.scriptAfterLocked(c, f.AnswerAfter, func() {
			if c.originate {
				s.hangupRequestLocked(c, hangup{reqCause: 17, reqTech: 486})
				s.dialEventLocked(c, "BUSY", later)
				s.endChannelLocked(c, hangup{destroyCause: 17, destroyTech: 486})
				return
			}
			s.endChannelLocked(c, hangup{request: true, reqCause: 17, reqTech: 486, destroyCause: 17, destroyTech: 486})
		})
	case NoAnswer:
	}
	if timeoutSec > 0 {
		c.dialTimer = s.afterLocked(time.Duration(timeoutSec)*time.Second, func() {
			if s.channels[c.id] != c || c.answered {
				return
			}
			if c.originate {
				s.endChannelLocked(c, hangup{destroyCause: 19, destroyTech: 480})
				return
			}
			s.endChannelLocked(c, hangup{request: true, reqCause: 32, reqSoft: true, destroyCause: 19, destroyTech: 480})
		})
	}
}

// stopRingbackLocked stops the ringback that c's 180 started on externalMedia channels of its bridge.
func (s *Server) stopRingbackLocked(c *channel) {
	if b := c.bridge; b != nil {
		for _, m := range b.members {
			if m.kind == kindExternalMedia {
				m.ringback = nil
			}
		}
	}
}

// startCallPhaseLocked schedules what the far end does once the call is up.
func (s *Server) startCallPhaseLocked(c *channel) {
	f := c.peer.script
	if f.HangupAfter > 0 {
		s.scriptAfterLocked(c, f.HangupAfter, func() { s.remoteHangupLocked(c) })
	}
	if f.DTMF != "" {
		for i, d := range f.DTMF {
			digit := string(d)
			s.scriptAfterLocked(c, f.DTMFAfter+time.Duration(i)*250*time.Millisecond, func() {
				s.channelEventLocked(c, "ChannelDtmfReceived", event{"digit": digit, "duration_ms": 100})
			})
		}
	}
}

// remoteHangupLocked is a BYE (or CANCEL) from the far end.
func (s *Server) remoteHangupLocked(c *channel) {
	if s.channels[c.id] != c {
		return
	}
	if c.kind == kindInbound {
		// README e2: ChannelHangupRequest without cause, ChannelLeftBridge, StasisEnd, no ChannelDestroyed.
		s.endChannelLocked(c, hangup{request: true})
		return
	}
	s.endChannelLocked(c, hangup{request: true, reqCause: 16, destroyCause: 16})
}

// InboundCall describes a call arriving from the PBX dialplan into Stasis(app,args...).
type InboundCall struct {
	App          string // default "crmphone"
	ChannelID    string // default generated like Asterisk ("1795461588.35")
	Endpoint     string // PJSIP endpoint the call came from, default "trunk"
	CallerNumber string
	CallerName   string
	Exten        string   // dialled DID/extension
	Context      string   // default "crmphone-inbound"
	Args         []string // Stasis arguments, e.g. {"inbound", "sales"}
	FarEnd       FarEnd   // the caller: media after answer, hang up, DTMF, abandon
}

// InjectInbound makes a call arrive in Stasis as the dialplan would: StasisStart with state Ring.
func (s *Server) InjectInbound(ctx context.Context, call InboundCall) (*Peer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("aritest: inject inbound: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("aritest: server closed")
	}
	if call.App == "" {
		call.App = "crmphone"
	}
	if call.Endpoint == "" {
		call.Endpoint = "trunk"
	}
	if call.Context == "" {
		call.Context = "crmphone-inbound"
	}
	if call.ChannelID == "" {
		call.ChannelID = s.newIDLocked()
	}
	if _, exists := s.channels[call.ChannelID]; exists {
		return nil, fmt.Errorf("aritest: channel %q already exists", call.ChannelID)
	}
	c := &channel{id: call.ChannelID, state: "Ring", created: time.Now(), kind: kindInbound, app: call.App,
		name:       fmt.Sprintf("PJSIP/%s-%s", call.Endpoint, s.nextNameSeqLocked()),
		protocolID: newUUID() + "@127.0.0.1", caller: partyJSON{Name: call.CallerName, Number: call.CallerNumber},
		args: append([]string(nil), call.Args...), resource: call.Endpoint}
	c.dp = dialplanJSON{Context: call.Context, Exten: call.Exten, Priority: 2}
	c.peer = s.newPeerLocked(c, call.FarEnd)
	s.addChannelLocked(c)
	if s.appConnectedLocked(call.App) {
		s.enterStasisLocked(c)
	} else {
		// Stasis() fails in the dialplan and the call is hung up; the app never sees it.
		s.endChannelLocked(c, hangup{})
		return c.peer, fmt.Errorf("aritest: application %q is not connected", call.App)
	}
	if call.FarEnd.AbandonAfter > 0 {
		s.scriptAfterLocked(c, call.FarEnd.AbandonAfter, func() {
			if c.state != "Up" {
				s.remoteHangupLocked(c)
			}
		})
	}
	return c.peer, nil
}

func (s *Server) answerInboundLocked(c *channel) {
	c.answered = true
	s.setStateLocked(c, "Up")
	c.peer.phase = phaseUp
	s.startCallPhaseLocked(c)
}
