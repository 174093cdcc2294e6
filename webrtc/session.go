package webrtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	pionwebrtc "github.com/pion/webrtc/v4"

	"github.com/crmphone/crmphone/webrtc/rtprelay"
)

// State is the connection state of a session's PeerConnection.
type State string

// Session states (those of RTCPeerConnection.connectionState).
const (
	StateNew          State = "new"
	StateConnecting   State = "connecting"
	StateConnected    State = "connected"
	StateDisconnected State = "disconnected"
	StateFailed       State = "failed"
	StateClosed       State = "closed"
)

func stateFrom(s pionwebrtc.PeerConnectionState) State {
	switch s {
	case pionwebrtc.PeerConnectionStateConnecting:
		return StateConnecting
	case pionwebrtc.PeerConnectionStateConnected:
		return StateConnected
	case pionwebrtc.PeerConnectionStateDisconnected:
		return StateDisconnected
	case pionwebrtc.PeerConnectionStateFailed:
		return StateFailed
	case pionwebrtc.PeerConnectionStateClosed:
		return StateClosed
	default:
		return StateNew
	}
}

// Errors of Session.
var (
	ErrSessionClosed   = errors.New("webrtc: session closed")
	ErrAlreadyAnswered = errors.New("webrtc: session already answered; create a new session to renegotiate")
	ErrNotAnswered     = errors.New("webrtc: session has no negotiated media yet (call Answer first)")
	ErrLegActive       = errors.New("webrtc: session already has an active call leg")
)

// Session is the media path of one operator login: one PeerConnection with one sendrecv audio
// transceiver, kept for every call of the login so that a call starts without ICE/DTLS setup. Calls attach
// to it with AttachCall, one at a time.
type Session struct {
	id     string
	engine *Engine
	log    *slog.Logger

	mu     sync.Mutex
	pc     *pionwebrtc.PeerConnection
	codec  Codec
	track  *pionwebrtc.TrackLocalStaticRTP
	leg    *Leg
	closed bool

	// toBrowser is the continuous outgoing stream state; used only by the active leg's reader goroutine
	// (legs run one after the other, Leg.Close waits for its goroutine).
	toBrowser *rtprelay.ToBrowser
	// active is the leg the browser's audio goes to; read by the track reader per packet.
	active atomic.Pointer[Leg]

	stateMu sync.Mutex
	state   State
	onState func(State)

	report browserReport

	wg sync.WaitGroup // track and RTCP readers
}

// browserReport is the last RTCP receiver report the browser sent about our stream.
type browserReport struct {
	count        atomic.Uint64
	fractionLost atomic.Uint32 // 1/256 units
	totalLost    atomic.Uint32
	jitter       atomic.Uint32 // RTP clock ticks
}

func newSession(e *Engine, id string) *Session {
	return &Session{id: id, engine: e, log: e.log.With("media_session", id), state: StateNew}
}

// ID returns the id given to NewSession.
func (s *Session) ID() string { return s.id }

// Codec returns the negotiated codec (zero Codec before Answer).
func (s *Session) Codec() Codec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codec
}

// State returns the current connection state.
func (s *Session) State() State {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return s.state
}

// OnStateChange registers f to be called (from a pion goroutine) on every state change. f must not block.
func (s *Session) OnStateChange(f func(State)) {
	s.stateMu.Lock()
	s.onState = f
	s.stateMu.Unlock()
}

func (s *Session) setState(st State) {
	s.stateMu.Lock()
	s.state = st
	f := s.onState
	s.stateMu.Unlock()
	s.log.Debug("media session state", "state", st)
	if f != nil {
		f(st)
	}
}

// Answer applies the browser's offer (one audio transceiver, sendrecv) and returns the complete answer
// SDP with our ICE candidates: gathering on the shared UDP port finishes at once, so no trickle is needed.
// The answer carries exactly one codec (G722, else PCMU, else PCMA) so the browser cannot switch codec
// later. Answer may be called once; when the browser reconnects or renegotiates, the caller closes this
// session and creates a new one.
func (s *Session) Answer(ctx context.Context, offerSDP string) (string, error) {
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(offerSDP); err != nil {
		return "", fmt.Errorf("webrtc: parse offer: %w", err)
	}
	codec, offeredPT, err := chooseCodec(&parsed)
	if err != nil {
		return "", err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrSessionClosed
	}
	if s.pc != nil {
		return "", ErrAlreadyAnswered
	}

	pc, track, err := s.engine.newPeerConnection(codec, offeredPT, s.id)
	if err != nil {
		return "", err
	}
	pc.OnConnectionStateChange(func(st pionwebrtc.PeerConnectionState) { s.setState(stateFrom(st)) })
	pc.OnTrack(func(remote *pionwebrtc.TrackRemote, receiver *pionwebrtc.RTPReceiver) {
		if !s.startReader() {
			return
		}
		go s.readBrowserAudio(remote, receiver)
	})

	answer, err := negotiate(ctx, pc, track, offerSDP)
	if err != nil {
		_ = pc.GracefulClose()
		return "", err
	}
	s.pc, s.track, s.codec = pc, track, codec
	s.toBrowser = rtprelay.NewToBrowser(codec.ClockRate, uint16(rand.Uint32()), rand.Uint32(), 0)
	if sender := senderOf(pc); sender != nil && s.startReaderLocked() {
		go s.readBrowserReports(sender)
	}
	s.log.Info("media session answered", "codec", codec.Name)
	return answer, nil
}

func negotiate(ctx context.Context, pc *pionwebrtc.PeerConnection, track *pionwebrtc.TrackLocalStaticRTP, offerSDP string) (string, error) {
	if err := pc.SetRemoteDescription(pionwebrtc.SessionDescription{Type: pionwebrtc.SDPTypeOffer, SDP: offerSDP}); err != nil {
		return "", fmt.Errorf("webrtc: set offer: %w", err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		return "", fmt.Errorf("webrtc: add track: %w", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("webrtc: create answer: %w", err)
	}
	gathered := pionwebrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("webrtc: set answer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("webrtc: gathering candidates: %w", ctx.Err())
	}
	return pc.LocalDescription().SDP, nil
}

func senderOf(pc *pionwebrtc.PeerConnection) *pionwebrtc.RTPSender {
	for _, s := range pc.GetSenders() {
		if s.Track() != nil {
			return s
		}
	}
	return nil
}

func (e *Engine) newPeerConnection(codec Codec, offeredPT uint8, id string) (*pionwebrtc.PeerConnection, *pionwebrtc.TrackLocalStaticRTP, error) {
	// A media engine per session holding only the chosen codec: the answer then lists exactly that codec.
	var me pionwebrtc.MediaEngine
	err := me.RegisterCodec(pionwebrtc.RTPCodecParameters{
		RTPCodecCapability: codec.capability(),
		PayloadType:        pionwebrtc.PayloadType(offeredPT),
	}, pionwebrtc.RTPCodecTypeAudio)
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: register codec: %w", err)
	}
	// Only RTCP sender/receiver reports: no NACK/TWCC for a 20 ms audio stream.
	var reg interceptor.Registry
	if err := pionwebrtc.ConfigureRTCPReports(&reg); err != nil {
		return nil, nil, fmt.Errorf("webrtc: rtcp reports: %w", err)
	}
	api := pionwebrtc.NewAPI(
		pionwebrtc.WithMediaEngine(&me),
		pionwebrtc.WithSettingEngine(e.settings),
		pionwebrtc.WithInterceptorRegistry(&reg),
	)
	pc, err := api.NewPeerConnection(pionwebrtc.Configuration{})
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	track, err := pionwebrtc.NewTrackLocalStaticRTP(codec.capability(), "audio", "crmphone-"+id)
	if err != nil {
		_ = pc.Close()
		return nil, nil, fmt.Errorf("webrtc: new track: %w", err)
	}
	return pc, track, nil
}

func (s *Session) startReader() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startReaderLocked()
}

func (s *Session) startReaderLocked() bool {
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// readBrowserAudio reads the browser's RTP for the whole session and hands it to the active leg; between
// calls the packets are read and dropped so pion's buffers never fill.
func (s *Session) readBrowserAudio(remote *pionwebrtc.TrackRemote, receiver *pionwebrtc.RTPReceiver) {
	defer s.wg.Done()
	s.log.Debug("browser audio track", "codec", remote.Codec().MimeType, "ssrc", uint32(remote.SSRC()))
	s.wg.Add(1)
	go s.drainReceiverRTCP(receiver)
	buf := make([]byte, 1500)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.log.Debug("browser audio track ended", "err", err)
			}
			return
		}
		if leg := s.active.Load(); leg != nil {
			leg.sendToAsterisk(buf[:n])
		}
	}
}

// drainReceiverRTCP reads the browser's sender reports so the interceptors process them.
func (s *Session) drainReceiverRTCP(receiver *pionwebrtc.RTPReceiver) {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		if _, _, err := receiver.Read(buf); err != nil {
			return
		}
	}
}

// readBrowserReports reads RTCP about our stream (receiver reports) until the session closes.
func (s *Session) readBrowserReports(sender *pionwebrtc.RTPSender) {
	defer s.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			rr, ok := p.(*rtcp.ReceiverReport)
			if !ok {
				continue
			}
			for _, r := range rr.Reports {
				s.report.fractionLost.Store(uint32(r.FractionLost))
				s.report.totalLost.Store(r.TotalLost)
				s.report.jitter.Store(r.Jitter)
				s.report.count.Add(1)
			}
		}
	}
}

// Close ends the active leg, closes the PeerConnection and waits for the session's goroutines.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	pc, leg := s.pc, s.leg
	s.mu.Unlock()

	var errs []error
	if leg != nil {
		errs = append(errs, leg.Close())
	}
	if pc != nil {
		errs = append(errs, pc.GracefulClose())
	}
	s.wg.Wait()
	s.engine.forget(s)
	if pc == nil {
		s.setState(StateClosed)
	}
	s.log.Info("media session closed")
	return errors.Join(errs...)
}

var monoEpoch = time.Now()

// monoNanos is a monotonic clock without allocation.
func monoNanos() int64 { return int64(time.Since(monoEpoch)) }
