// Package softphone is the softphone's API over the signaling websocket: it
// gives each logged-in connection its warm WebRTC media session and maps the
// protocol's call methods onto the call manager.
package softphone

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"

	"github.com/crmphone/crmphone/ari"
	"github.com/crmphone/crmphone/controller/agents"
	"github.com/crmphone/crmphone/controller/calls"
	"github.com/crmphone/crmphone/controller/inbound"
	"github.com/crmphone/crmphone/controller/store"
	"github.com/crmphone/crmphone/ui/signaling"
	"github.com/crmphone/crmphone/webrtc"
)

// Engine creates media sessions; *webrtc.Engine satisfies it.
type Engine interface {
	NewSession(ctx context.Context, id string) (*webrtc.Session, error)
}

// Calls is the call manager; *calls.Manager satisfies it.
type Calls interface {
	Dial(ctx context.Context, op calls.Operator, media calls.Media, notify calls.Notifier, number, crmRef string) (*calls.Call, error)
	Get(sessionID, callID string) (*calls.Call, error)
	SessionClosed(sessionID string)
}

// Router answers and rejects inbound offers; *inbound.Router satisfies it.
type Router interface {
	Answer(ctx context.Context, op calls.Operator, media calls.Media, notify calls.Notifier, callID string) (*calls.Call, error)
	Reject(operatorID, callID string) error
}

// Agents tracks operators' availability; *agents.Registry satisfies it.
type Agents interface {
	AttachTab(operatorID, sessionID string, tab agents.Tab)
	SetMedia(operatorID, sessionID string, ok bool)
	SetAway(operatorID string, away bool) (string, bool)
	StartCall(operatorID string)
	EndCall(operatorID string)
}

// Tasks are the callback tasks; *store.Store satisfies it.
type Tasks interface {
	OpenTasks(ctx context.Context, targets []string) ([]store.CallbackTask, error)
	ListRoutingTargets(ctx context.Context) ([]store.RoutingTarget, error)
	GetTask(ctx context.Context, id string) (store.CallbackTask, error)
	CloseTask(ctx context.Context, id, by, reason, callID string) error
}

// TaskEvents learns of tasks closed by hand (webhooks, other tabs).
type TaskEvents interface {
	TaskClosed(ctx context.Context, t store.CallbackTask, by string)
}

// Deps are the domain services the softphone methods use.
type Deps struct {
	Engine     Engine
	Calls      Calls
	Router     Router
	Agents     Agents
	Tasks      Tasks
	TaskEvents TaskEvents
	Requests   *Requests // click-to-call requests; nil: none
	Log        *slog.Logger
}

// Service holds the media sessions of logged-in connections.
type Service struct {
	engine Engine
	calls  Calls
	router Router
	agents Agents
	tasks  Tasks
	taskEv TaskEvents
	reqs   *Requests
	log    *slog.Logger

	mu    sync.Mutex
	media map[*signaling.Conn]*webrtc.Session
}

// New creates the service and registers its methods on srv.
func New(srv *signaling.Server, d Deps) *Service {
	s := &Service{engine: d.Engine, calls: d.Calls, router: d.Router, agents: d.Agents, tasks: d.Tasks, taskEv: d.TaskEvents,
		reqs: d.Requests, log: d.Log, media: map[*signaling.Conn]*webrtc.Session{}}
	srv.Handle("media.offer", s.mediaOffer)
	srv.Handle("call", s.call)
	srv.Handle("hangup", s.hangup)
	srv.Handle("mute", s.mute)
	srv.Handle("hold", s.hold)
	srv.Handle("dtmf", s.dtmf)
	srv.Handle("answer", s.answer)
	srv.Handle("reject", s.reject)
	srv.Handle("presence.set", s.presenceSet)
	srv.Handle("tasks.list", s.tasksList)
	srv.Handle("tasks.close", s.tasksClose)
	prev := srv.OnSession
	srv.OnSession = func(conn *signaling.Conn, closed bool) {
		if prev != nil {
			prev(conn, closed)
		}
		if closed {
			s.closed(conn) // the login's Logout then takes the session offline
			return
		}
		sess := conn.Session()
		s.agents.AttachTab(sess.Identity.OperatorID, sess.ID, conn)
	}
	return s
}

func (s *Service) closed(conn *signaling.Conn) {
	if sess := conn.Session(); sess != nil {
		s.calls.SessionClosed(sess.ID)
	}
	s.mu.Lock()
	m := s.media[conn]
	delete(s.media, conn)
	s.mu.Unlock()
	if m != nil {
		m.Close()
	}
}

func decode(params json.RawMessage, v any) error {
	if len(params) == 0 {
		return signaling.Errf("bad_request", "params are required")
	}
	if err := json.Unmarshal(params, v); err != nil {
		return signaling.Errf("bad_request", "params are not valid for this method")
	}
	return nil
}

func (s *Service) mediaOffer(ctx context.Context, conn *signaling.Conn, params json.RawMessage) (any, error) {
	var p struct {
		SDP string `json:"sdp"`
	}
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	if p.SDP == "" {
		return nil, signaling.Errf("bad_request", "params.sdp is required")
	}
	sess := conn.Session()
	m, err := s.engine.NewSession(ctx, sess.ID)
	if err != nil {
		return nil, err
	}
	answer, err := m.Answer(ctx, p.SDP)
	if err != nil {
		m.Close()
		s.log.Warn("media offer refused", "session", sess.ID, "err", err)
		if errors.Is(err, webrtc.ErrNoCommonCodec) {
			return nil, signaling.Errf("media_failed", "the browser offered none of G722, PCMU, PCMA")
		}
		return nil, signaling.Errf("media_failed", "the media offer could not be answered")
	}
	opID := sess.Identity.OperatorID
	m.OnStateChange(func(st webrtc.State) {
		// Only a tab whose media path works is offered inbound calls.
		s.agents.SetMedia(opID, sess.ID, st == webrtc.StateConnected)
		conn.Notify("media.state", map[string]string{"state": string(st)})
	})
	s.mu.Lock()
	old := s.media[conn]
	s.media[conn] = m
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return map[string]any{"sdp": answer, "codec": m.Codec().Name}, nil
}

func (s *Service) call(ctx context.Context, conn *signaling.Conn, params json.RawMessage) (any, error) {
	var p struct {
		Number    string `json:"number"`
		CRMRef    string `json:"crm_ref"`
		RequestID string `json:"request_id"`
	}
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	op, media, err := s.caller(conn)
	if err != nil {
		return nil, err
	}
	if p.RequestID != "" {
		// A click-to-call: the first tab takes it, and the CRM's number is dialled.
		if s.reqs == nil {
			return nil, signaling.Errf("request_taken", "no such call request")
		}
		req, ok := s.reqs.take(op.ID, p.RequestID)
		if !ok {
			return nil, signaling.Errf("request_taken", "the call request was taken by another tab or has expired")
		}
		p.Number, p.CRMRef = req.number, req.crmRef
	}
	s.agents.StartCall(op.ID) // no inbound offers while dialling out
	c, err := s.calls.Dial(ctx, op, media, conn, p.Number, p.CRMRef)
	if err != nil {
		s.agents.EndCall(op.ID)
		return nil, protocolError(err)
	}
	return map[string]string{"call_id": c.ID()}, nil
}

// caller is the logged-in operator of conn with the tab's media path, which
// a call needs before it starts or is answered.
func (s *Service) caller(conn *signaling.Conn) (calls.Operator, calls.Media, error) {
	s.mu.Lock()
	m := s.media[conn]
	s.mu.Unlock()
	if m == nil {
		return calls.Operator{}, nil, signaling.Errf("no_media", "send media.offer before calling or answering")
	}
	sess := conn.Session()
	return calls.Operator{ID: sess.Identity.OperatorID, SessionID: sess.ID, AllowsDial: sess.Identity.AllowsDial}, mediaSession{m}, nil
}

func (s *Service) answer(ctx context.Context, conn *signaling.Conn, params json.RawMessage) (any, error) {
	var p callParams
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	op, media, err := s.caller(conn)
	if err != nil {
		return nil, err
	}
	c, err := s.router.Answer(ctx, op, media, conn, p.CallID)
	if err != nil {
		return nil, protocolError(err)
	}
	return map[string]string{"call_id": c.ID()}, nil
}

func (s *Service) reject(ctx context.Context, conn *signaling.Conn, params json.RawMessage) (any, error) {
	var p callParams
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	return nil, protocolError(s.router.Reject(conn.Session().Identity.OperatorID, p.CallID))
}

func (s *Service) presenceSet(ctx context.Context, conn *signaling.Conn, params json.RawMessage) (any, error) {
	var p struct {
		State string `json:"state"`
	}
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	if p.State != "available" && p.State != "away" {
		return nil, signaling.Errf("bad_request", "state must be available or away")
	}
	st, ok := s.agents.SetAway(conn.Session().Identity.OperatorID, p.State == "away")
	if !ok {
		return nil, signaling.Errf("invalid_state", "not while %s", st)
	}
	return map[string]string{"state": st}, nil
}

// targetsOf lists the routing targets the operator belongs to.
func (s *Service) targetsOf(ctx context.Context, operatorID string) ([]string, error) {
	all, err := s.tasks.ListRoutingTargets(ctx)
	if err != nil {
		return nil, err
	}
	mine := []string{operatorID} // an operator is their own target too
	for _, t := range all {
		for _, m := range t.Members {
			if m == operatorID {
				mine = append(mine, t.ID)
				break
			}
		}
	}
	return mine, nil
}

func (s *Service) tasksList(ctx context.Context, conn *signaling.Conn, _ json.RawMessage) (any, error) {
	targets, err := s.targetsOf(ctx, conn.Session().Identity.OperatorID)
	if err != nil {
		return nil, err
	}
	tasks, err := s.tasks.OpenTasks(ctx, targets)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tasks": tasks}, nil
}

func (s *Service) tasksClose(ctx context.Context, conn *signaling.Conn, params json.RawMessage) (any, error) {
	var p struct {
		TaskID string `json:"task_id"`
	}
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	opID := conn.Session().Identity.OperatorID
	t, err := s.tasks.GetTask(ctx, p.TaskID)
	if err != nil {
		return nil, signaling.Errf("unknown_task", "no such open task")
	}
	targets, err := s.targetsOf(ctx, opID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(targets, t.TargetID) {
		return nil, signaling.Errf("unknown_task", "no such open task")
	}
	if err := s.tasks.CloseTask(ctx, p.TaskID, opID, "closed", ""); err != nil {
		return nil, signaling.Errf("unknown_task", "no such open task")
	}
	if s.taskEv != nil {
		s.taskEv.TaskClosed(ctx, t, opID)
	}
	return struct{}{}, nil
}

type callParams struct {
	CallID string `json:"call_id"`
	Muted  *bool  `json:"muted"`
	Held   *bool  `json:"held"`
	Digits string `json:"digits"`
}

func (s *Service) lookup(conn *signaling.Conn, params json.RawMessage) (*calls.Call, callParams, error) {
	var p callParams
	if err := decode(params, &p); err != nil {
		return nil, p, err
	}
	c, err := s.calls.Get(conn.Session().ID, p.CallID)
	if err != nil {
		return nil, p, protocolError(err)
	}
	return c, p, nil
}

func (s *Service) hangup(ctx context.Context, conn *signaling.Conn, params json.RawMessage) (any, error) {
	c, _, err := s.lookup(conn, params)
	if err != nil {
		return nil, err
	}
	return nil, protocolError(c.Hangup(ctx))
}

func (s *Service) mute(ctx context.Context, conn *signaling.Conn, params json.RawMessage) (any, error) {
	c, p, err := s.lookup(conn, params)
	if err != nil {
		return nil, err
	}
	if p.Muted == nil {
		return nil, signaling.Errf("bad_request", "params.muted is required")
	}
	return nil, protocolError(c.Mute(ctx, *p.Muted))
}

func (s *Service) hold(ctx context.Context, conn *signaling.Conn, params json.RawMessage) (any, error) {
	c, p, err := s.lookup(conn, params)
	if err != nil {
		return nil, err
	}
	if p.Held == nil {
		return nil, signaling.Errf("bad_request", "params.held is required")
	}
	return nil, protocolError(c.Hold(ctx, *p.Held))
}

func (s *Service) dtmf(ctx context.Context, conn *signaling.Conn, params json.RawMessage) (any, error) {
	c, p, err := s.lookup(conn, params)
	if err != nil {
		return nil, err
	}
	return nil, protocolError(c.SendDTMF(ctx, p.Digits))
}

// protocolError maps domain errors to the protocol's codes; anything else
// becomes "internal" (detail in the server log only).
func protocolError(err error) error {
	if err == nil {
		return nil
	}
	var perr *signaling.Error
	switch {
	case errors.As(err, &perr):
		return perr
	case errors.Is(err, calls.ErrInvalidNumber):
		return signaling.Errf("invalid_number", "numbers are digits with an optional leading +, and * or #, at most %d", calls.MaxNumberLen)
	case errors.Is(err, calls.ErrNotAllowed):
		return signaling.Errf("not_allowed", "this number is not allowed for you")
	case errors.Is(err, calls.ErrBusyHere):
		return signaling.Errf("busy_here", "finish the current call first")
	case errors.Is(err, calls.ErrUnknownCall):
		return signaling.Errf("unknown_call", "no such call on this session")
	case errors.Is(err, calls.ErrInvalidState):
		return signaling.Errf("invalid_state", "not possible in the call's current state")
	case errors.Is(err, calls.ErrInvalidDTMF):
		return signaling.Errf("bad_request", "DTMF digits are 0-9 * # A-D, at most 32")
	case errors.Is(err, inbound.ErrUnknownOffer):
		return signaling.Errf("unknown_call", "no such offer: it was answered elsewhere or has ended")
	case errors.Is(err, ari.ErrUnavailable):
		return signaling.Errf("pbx_unavailable", "the phone system is not reachable right now")
	}
	return err
}

// mediaSession adapts a webrtc.Session to calls.Media.
type mediaSession struct{ s *webrtc.Session }

func (m mediaSession) AttachCall(ctx context.Context) (calls.MediaLeg, error) {
	leg, err := m.s.AttachCall(ctx)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return leg, nil
}
func (m mediaSession) ExternalMediaFormat() string { return m.s.Codec().ExternalMediaFormat }
func (m mediaSession) CodecName() string           { return m.s.Codec().Name }
func (m mediaSession) LegStats(leg calls.MediaLeg) string {
	l, ok := leg.(*webrtc.Leg)
	if !ok {
		return "{}"
	}
	b, err := json.Marshal(l.Stats())
	if err != nil {
		return "{}"
	}
	return string(b)
}
