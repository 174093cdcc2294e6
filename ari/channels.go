package ari

import (
	"context"
	"net/http"
	"time"
)

// ListChannels is GET /channels. Use it after a reconnect to reconcile state.
func (c *Client) ListChannels(ctx context.Context) ([]Channel, error) {
	var out []Channel
	if err := c.do(ctx, http.MethodGet, path("channels"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetChannel is GET /channels/{id}.
func (c *Client) GetChannel(ctx context.Context, id string) (*Channel, error) {
	return c.channel(ctx, http.MethodGet, path("channels", id), nil, nil)
}

func (c *Client) channel(ctx context.Context, method, p string, q query, body any) (*Channel, error) {
	var out Channel
	if err := c.do(ctx, method, p, q, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateParams are the parameters of POST /channels/create.
type CreateParams struct {
	Endpoint       string   // required, e.g. PJSIP/sipp-uas or PJSIP/1001@trunk
	App            string   // default: the client's Application
	AppArgs        []string // joined with ","; arrive as StasisStart.Args
	ChannelID      string   // choose it yourself and Subscribe to it before the request
	OtherChannelID string   // second half of a Local channel
	Originator     string
	Formats        []string // e.g. ["ulaw"]; avoids slin192 Local channels (6 dB lower level)
	Variables      map[string]string
}

// CreateChannel is POST /channels/create: the channel exists (state Down, nothing sent on SIP) and
// enters Stasis right away, but the HTTP response can arrive before StasisStart; wait for
// StasisStart before AddChannel (otherwise 422 ErrNotInStasis). Then call Dial.
func (c *Client) CreateChannel(ctx context.Context, p CreateParams) (*Channel, error) {
	q := query{}.str("endpoint", p.Endpoint).str("app", c.app(p.App)).list("appArgs", p.AppArgs).
		str("channelId", p.ChannelID).str("otherChannelId", p.OtherChannelID).
		str("originator", p.Originator).list("formats", p.Formats)
	return c.channel(ctx, http.MethodPost, path("channels", "create"), q, varsBody(p.Variables))
}

func (c *Client) app(app string) string {
	if app != "" {
		return app
	}
	return c.cfg.Application
}

// OriginateParams are the parameters of POST /channels.
type OriginateParams struct {
	Endpoint       string // required
	Extension      string // dialplan target (mutually exclusive with App)
	Context        string
	Priority       int64
	Label          string
	App            string   // Stasis target; StasisStart comes only after the far end answers
	AppArgs        []string // joined with ","
	CallerID       string   // e.g. `CRM <100>`
	Timeout        time.Duration
	ChannelID      string
	OtherChannelID string
	Originator     string
	Formats        []string
	Variables      map[string]string
}

// Originate is POST /channels. With App set, the channel reaches the app (StasisStart) only after
// answer; busy/no-answer end with ChannelDestroyed and no StasisStart at all.
func (c *Client) Originate(ctx context.Context, p OriginateParams) (*Channel, error) {
	q := query{}.str("endpoint", p.Endpoint).str("extension", p.Extension).str("context", p.Context).
		num("priority", p.Priority).str("label", p.Label).str("app", p.App).list("appArgs", p.AppArgs).
		str("callerId", p.CallerID).num("timeout", int64(p.Timeout/time.Second)).
		str("channelId", p.ChannelID).str("otherChannelId", p.OtherChannelID).
		str("originator", p.Originator).list("formats", p.Formats)
	return c.channel(ctx, http.MethodPost, path("channels"), q, varsBody(p.Variables))
}

// Dial is POST /channels/{id}/dial for a channel made with CreateChannel. It returns (204) before
// the INVITE is sent. timeout 0 means Asterisk's default; on expiry Asterisk hangs the channel up
// (cause 19) without a Dial NOANSWER event.
func (c *Client) Dial(ctx context.Context, id, caller string, timeout time.Duration) error {
	q := query{}.str("caller", caller).num("timeout", int64(timeout/time.Second))
	return c.do(ctx, http.MethodPost, path("channels", id, "dial"), q, nil, nil)
}

// Answer is POST /channels/{id}/answer.
func (c *Client) Answer(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, path("channels", id, "answer"), nil, nil, nil)
}

// Ring is POST /channels/{id}/ring: 180 without SDP to an inbound caller (no RTP).
func (c *Client) Ring(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, path("channels", id, "ring"), nil, nil, nil)
}

// RingStop is DELETE /channels/{id}/ring; also stops Asterisk's ringback tone on an externalMedia
// channel left alone in a bridge after a no-answer.
func (c *Client) RingStop(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, path("channels", id, "ring"), nil, nil, nil)
}

// Progress is POST /channels/{id}/progress (183).
func (c *Client) Progress(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, path("channels", id, "progress"), nil, nil, nil)
}

// Hangup reasons accepted by DELETE /channels/{id}?reason=.
const (
	HangupNormal            = "normal"
	HangupBusy              = "busy"
	HangupCongestion        = "congestion"
	HangupNoAnswer          = "no_answer"
	HangupTimeout           = "timeout"
	HangupRejected          = "rejected"
	HangupUnallocated       = "unallocated"
	HangupNormalUnspecified = "normal_unspecified"
	HangupNumberIncomplete  = "number_incomplete"
	HangupCodecMismatch     = "codec_mismatch"
	HangupInterworking      = "interworking"
	HangupFailure           = "failure"
	HangupAnsweredElsewhere = "answered_elsewhere"
)

// Hangup is DELETE /channels/{id}; reason may be "" (normal).
func (c *Client) Hangup(ctx context.Context, id, reason string) error {
	return c.do(ctx, http.MethodDelete, path("channels", id), query{}.str("reason", reason), nil, nil)
}

// Hold is POST /channels/{id}/hold.
func (c *Client) Hold(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, path("channels", id, "hold"), nil, nil, nil)
}

// Unhold is DELETE /channels/{id}/hold.
func (c *Client) Unhold(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, path("channels", id, "hold"), nil, nil, nil)
}

// StartChannelMOH is POST /channels/{id}/moh; class "" is the default class.
func (c *Client) StartChannelMOH(ctx context.Context, id, class string) error {
	return c.do(ctx, http.MethodPost, path("channels", id, "moh"), query{}.str("mohClass", class), nil, nil)
}

// StopChannelMOH is DELETE /channels/{id}/moh.
func (c *Client) StopChannelMOH(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, path("channels", id, "moh"), nil, nil, nil)
}

// Mute directions.
const (
	DirectionBoth = "both"
	DirectionIn   = "in"
	DirectionOut  = "out"
)

// Mute is POST /channels/{id}/mute; direction "" means both.
func (c *Client) Mute(ctx context.Context, id, direction string) error {
	return c.do(ctx, http.MethodPost, path("channels", id, "mute"), query{}.str("direction", direction), nil, nil)
}

// Unmute is DELETE /channels/{id}/mute.
func (c *Client) Unmute(ctx context.Context, id, direction string) error {
	return c.do(ctx, http.MethodDelete, path("channels", id, "mute"), query{}.str("direction", direction), nil, nil)
}

// DTMFParams tune SendDTMF; zero values use Asterisk's defaults.
type DTMFParams struct {
	Before, Between, Duration, After time.Duration
}

// SendDTMF is POST /channels/{id}/dtmf.
func (c *Client) SendDTMF(ctx context.Context, id, digits string, p DTMFParams) error {
	ms := func(d time.Duration) int64 { return int64(d / time.Millisecond) }
	q := query{}.str("dtmf", digits).num("before", ms(p.Before)).num("between", ms(p.Between)).
		num("duration", ms(p.Duration)).num("after", ms(p.After))
	return c.do(ctx, http.MethodPost, path("channels", id, "dtmf"), q, nil, nil)
}

// GetChannelVar is GET /channels/{id}/variable.
func (c *Client) GetChannelVar(ctx context.Context, id, name string) (string, error) {
	var out Variable
	if err := c.do(ctx, http.MethodGet, path("channels", id, "variable"), query{}.str("variable", name), nil, &out); err != nil {
		return "", err
	}
	return out.Value, nil
}

// SetChannelVar is POST /channels/{id}/variable.
func (c *Client) SetChannelVar(ctx context.Context, id, name, value string) error {
	q := query{}.str("variable", name).str("value", value)
	return c.do(ctx, http.MethodPost, path("channels", id, "variable"), q, nil, nil)
}

// SnoopParams are the parameters of POST /channels/{id}/snoop.
type SnoopParams struct {
	Spy     string // none, both, out, in
	Whisper string // none, both, out, in
	App     string // default: the client's Application
	AppArgs []string
	SnoopID string
}

// Snoop creates a snoop channel on channel id; it enters the app (StasisStart) at once.
func (c *Client) Snoop(ctx context.Context, id string, p SnoopParams) (*Channel, error) {
	q := query{}.str("spy", p.Spy).str("whisper", p.Whisper).str("app", c.app(p.App)).
		list("appArgs", p.AppArgs).str("snoopId", p.SnoopID)
	return c.channel(ctx, http.MethodPost, path("channels", id, "snoop"), q, nil)
}

// ExternalMediaParams are the parameters of POST /channels/externalMedia.
type ExternalMediaParams struct {
	App            string // default: the client's Application
	ExternalHost   string // host:port for udp/tcp; websocket_client id for connection_type=client
	Format         string // required: ulaw, alaw, g722, slin, slin16 ...
	Encapsulation  string // rtp (default), audiosocket, none (required for websocket)
	Transport      string // udp (default), tcp, websocket
	ConnectionType string // client (default), server (websocket only)
	Direction      string // both
	ChannelID      string
	Data           string
	TransportData  string
	Variables      map[string]string
}

// ExternalMedia is POST /channels/externalMedia. The returned channel carries channelvars:
// use Channel.LocalRTPAddr (UDP) or Channel.MediaWebSocketConnectionID (websocket). The response
// can precede StasisStart: wait for it before AddChannel. If the app has no websocket connected,
// Asterisk still answers 200 and hangs the channel up at once.
func (c *Client) ExternalMedia(ctx context.Context, p ExternalMediaParams) (*Channel, error) {
	q := query{}.str("app", c.app(p.App)).str("external_host", p.ExternalHost).str("format", p.Format).
		str("encapsulation", p.Encapsulation).str("transport", p.Transport).
		str("connection_type", p.ConnectionType).str("direction", p.Direction).
		str("channelId", p.ChannelID).str("data", p.Data).str("transport_data", p.TransportData)
	return c.channel(ctx, http.MethodPost, path("channels", "externalMedia"), q, varsBody(p.Variables))
}

// ContinueParams are the dialplan location for Continue; empty fields keep the current one.
type ContinueParams struct {
	Context   string
	Extension string
	Priority  int64
	Label     string
}

// Continue is POST /channels/{id}/continue: the channel leaves Stasis (StasisEnd) into the dialplan.
func (c *Client) Continue(ctx context.Context, id string, p ContinueParams) error {
	q := query{}.str("context", p.Context).str("extension", p.Extension).num("priority", p.Priority).str("label", p.Label)
	return c.do(ctx, http.MethodPost, path("channels", id, "continue"), q, nil, nil)
}

// Redirect is POST /channels/{id}/redirect (SIP 302 / transfer to endpoint).
func (c *Client) Redirect(ctx context.Context, id, endpoint string) error {
	return c.do(ctx, http.MethodPost, path("channels", id, "redirect"), query{}.str("endpoint", endpoint), nil, nil)
}

// PlayParams are the parameters of a play request.
type PlayParams struct {
	Media      []string // e.g. sound:hello-world, tone:ring; several are played in sequence
	Lang       string
	Offset     time.Duration
	Skip       time.Duration
	PlaybackID string
}

func (p PlayParams) query() query {
	return query{}.list("media", p.Media).str("lang", p.Lang).
		num("offsetms", int64(p.Offset/time.Millisecond)).num("skipms", int64(p.Skip/time.Millisecond)).
		str("playbackId", p.PlaybackID)
}

// Play is POST /channels/{id}/play. On an unanswered inbound channel it sends 183 with early media.
func (c *Client) Play(ctx context.Context, id string, p PlayParams) (*Playback, error) {
	var out Playback
	if err := c.do(ctx, http.MethodPost, path("channels", id, "play"), p.query(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPlayback is GET /playbacks/{id}.
func (c *Client) GetPlayback(ctx context.Context, id string) (*Playback, error) {
	var out Playback
	if err := c.do(ctx, http.MethodGet, path("playbacks", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StopPlayback is DELETE /playbacks/{id}.
func (c *Client) StopPlayback(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, path("playbacks", id), nil, nil, nil)
}

// RecordParams are the parameters of a channel or bridge record request.
type RecordParams struct {
	Name           string // may contain a folder ("crm/call-1"); it is escaped as one path segment later
	Format         string // required, e.g. wav
	RecorderFormat string // bridges only
	MaxDuration    time.Duration
	MaxSilence     time.Duration
	IfExists       string // fail (default), overwrite, append
	Beep           bool
	TerminateOn    string // none, any, *, #
}

func (p RecordParams) query() query {
	return query{}.str("name", p.Name).str("format", p.Format).str("recorder_format", p.RecorderFormat).
		num("maxDurationSeconds", int64(p.MaxDuration/time.Second)).
		num("maxSilenceSeconds", int64(p.MaxSilence/time.Second)).
		str("ifExists", p.IfExists).flag("beep", p.Beep).str("terminateOn", p.TerminateOn)
}

// RecordChannel is POST /channels/{id}/record.
func (c *Client) RecordChannel(ctx context.Context, id string, p RecordParams) (*LiveRecording, error) {
	p.RecorderFormat = "" // not a channel parameter
	var out LiveRecording
	if err := c.do(ctx, http.MethodPost, path("channels", id, "record"), p.query(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
