package ari

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Event is one message of the ARI events websocket.
type Event interface {
	// Type is the ARI event type, e.g. "StasisStart"; a RawEvent reports the type it carried.
	Type() string
	// Base returns the fields every event has (type, timestamp, application, asterisk_id).
	Base() *EventBase
	// ChannelIDs are the channels the event concerns (routing keys); may be empty.
	ChannelIDs() []string
	// BridgeIDs are the bridges the event concerns (routing keys); may be empty.
	BridgeIDs() []string
}

// EventBase holds the fields common to all events (swagger Message + Event).
type EventBase struct {
	EventType   string `json:"type"`
	AsteriskID  string `json:"asterisk_id,omitempty"`
	Application string `json:"application"`
	Timestamp   Time   `json:"timestamp"`
}

// Type returns the event type.
func (b *EventBase) Type() string { return b.EventType }

// Base returns b.
func (b *EventBase) Base() *EventBase { return b }

// ChannelIDs returns nil; events concerning channels override it.
func (b *EventBase) ChannelIDs() []string { return nil }

// BridgeIDs returns nil; events concerning bridges override it.
func (b *EventBase) BridgeIDs() []string { return nil }

func one(id string) []string {
	if id == "" {
		return nil
	}
	return []string{id}
}

func chanID(c *Channel) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// StasisStart: a channel entered the application.
type StasisStart struct {
	EventBase
	Args           []string `json:"args"`
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
}

// ChannelIDs returns the channel (and the replaced channel, if any).
func (e *StasisStart) ChannelIDs() []string {
	if e.ReplaceChannel != nil && e.ReplaceChannel.ID != "" {
		return []string{e.Channel.ID, e.ReplaceChannel.ID}
	}
	return one(e.Channel.ID)
}

// StasisEnd: a channel left the application.
type StasisEnd struct {
	EventBase
	Channel Channel `json:"channel"`
}

func (e *StasisEnd) ChannelIDs() []string { return one(e.Channel.ID) }

// ChannelCreated (only delivered for subscribed sources).
type ChannelCreated struct {
	EventBase
	Channel Channel `json:"channel"`
}

func (e *ChannelCreated) ChannelIDs() []string { return one(e.Channel.ID) }

// ChannelStateChange: Channel.State changed (Ringing, Up ...).
type ChannelStateChange struct {
	EventBase
	Channel Channel `json:"channel"`
}

func (e *ChannelStateChange) ChannelIDs() []string { return one(e.Channel.ID) }

// ChannelDtmfReceived: a DTMF digit ended.
type ChannelDtmfReceived struct {
	EventBase
	Digit      string  `json:"digit"`
	DurationMs int     `json:"duration_ms"`
	Channel    Channel `json:"channel"`
}

func (e *ChannelDtmfReceived) ChannelIDs() []string { return one(e.Channel.ID) }

// ChannelHangupRequest: Cause is absent (0) for a remote BYE; Soft is true for DELETE and dial timeout.
type ChannelHangupRequest struct {
	EventBase
	Cause     int     `json:"cause,omitempty"`
	TechCause int     `json:"tech_cause,omitempty"`
	Soft      bool    `json:"soft,omitempty"`
	Channel   Channel `json:"channel"`
}

func (e *ChannelHangupRequest) ChannelIDs() []string { return one(e.Channel.ID) }

// ChannelDestroyed: the channel is gone. Channels that entered through the dialplan get
// StasisEnd but no ChannelDestroyed (the app is unsubscribed after StasisEnd).
type ChannelDestroyed struct {
	EventBase
	Cause     int     `json:"cause"`
	CauseTxt  string  `json:"cause_txt"`
	TechCause int     `json:"tech_cause,omitempty"`
	Channel   Channel `json:"channel"`
}

func (e *ChannelDestroyed) ChannelIDs() []string { return one(e.Channel.ID) }

// ChannelEnteredBridge concerns both the channel and the bridge.
type ChannelEnteredBridge struct {
	EventBase
	Bridge  Bridge   `json:"bridge"`
	Channel *Channel `json:"channel,omitempty"`
}

func (e *ChannelEnteredBridge) ChannelIDs() []string { return one(chanID(e.Channel)) }
func (e *ChannelEnteredBridge) BridgeIDs() []string  { return one(e.Bridge.ID) }

// ChannelLeftBridge concerns both the channel and the bridge.
type ChannelLeftBridge struct {
	EventBase
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

func (e *ChannelLeftBridge) ChannelIDs() []string { return one(e.Channel.ID) }
func (e *ChannelLeftBridge) BridgeIDs() []string  { return one(e.Bridge.ID) }

// ChannelVarset: Channel is nil for a global variable.
type ChannelVarset struct {
	EventBase
	Variable string   `json:"variable"`
	Value    string   `json:"value"`
	Channel  *Channel `json:"channel,omitempty"`
}

func (e *ChannelVarset) ChannelIDs() []string { return one(chanID(e.Channel)) }

// ChannelDialplan: the channel's dialplan location changed.
type ChannelDialplan struct {
	EventBase
	Channel         Channel `json:"channel"`
	DialplanApp     string  `json:"dialplan_app"`
	DialplanAppData string  `json:"dialplan_app_data"`
}

func (e *ChannelDialplan) ChannelIDs() []string { return one(e.Channel.ID) }

// ChannelConnectedLine: connected line information changed.
type ChannelConnectedLine struct {
	EventBase
	Channel Channel `json:"channel"`
}

func (e *ChannelConnectedLine) ChannelIDs() []string { return one(e.Channel.ID) }

// ChannelCallerId: caller id changed.
type ChannelCallerId struct {
	EventBase
	CallerPresentation    int     `json:"caller_presentation"`
	CallerPresentationTxt string  `json:"caller_presentation_txt"`
	Channel               Channel `json:"channel"`
}

func (e *ChannelCallerId) ChannelIDs() []string { return one(e.Channel.ID) }

// ChannelHold: the channel put the call on hold.
type ChannelHold struct {
	EventBase
	Channel    Channel `json:"channel"`
	MusicClass string  `json:"musicclass,omitempty"`
}

func (e *ChannelHold) ChannelIDs() []string { return one(e.Channel.ID) }

// ChannelUnhold: the channel took the call off hold.
type ChannelUnhold struct {
	EventBase
	Channel Channel `json:"channel"`
}

func (e *ChannelUnhold) ChannelIDs() []string { return one(e.Channel.ID) }

// BridgeCreated (only for subscribed bridges).
type BridgeCreated struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

func (e *BridgeCreated) BridgeIDs() []string { return one(e.Bridge.ID) }

// BridgeDestroyed: sent only when the bridge is deleted, not when it empties.
type BridgeDestroyed struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

func (e *BridgeDestroyed) BridgeIDs() []string { return one(e.Bridge.ID) }

// Dial reports dial progress. For a channel dialled with POST /channels/{id}/dial only Peer is
// set. Busy (486) and dial timeouts produce no final Dial event: watch ChannelHangupRequest /
// ChannelDestroyed causes instead.
type Dial struct {
	EventBase
	Caller     *Channel `json:"caller,omitempty"`
	Peer       Channel  `json:"peer"`
	Forward    string   `json:"forward,omitempty"`
	Forwarded  *Channel `json:"forwarded,omitempty"`
	Dialstring string   `json:"dialstring,omitempty"`
	Dialstatus string   `json:"dialstatus"`
}

// ChannelIDs returns the peer, then caller and forwarded channel when present.
func (e *Dial) ChannelIDs() []string {
	ids := make([]string, 0, 3)
	for _, id := range [...]string{e.Peer.ID, chanID(e.Caller), chanID(e.Forwarded)} {
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// recordingTarget routes recording/playback events by their target_uri ("bridge:x", "channel:y").
func targetChannel(uri string) []string {
	if kind, id := targetID(uri); kind == "channel" {
		return one(id)
	}
	return nil
}

func targetBridge(uri string) []string {
	if kind, id := targetID(uri); kind == "bridge" {
		return one(id)
	}
	return nil
}

// RecordingStarted: a live recording began (state "recording").
type RecordingStarted struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

func (e *RecordingStarted) ChannelIDs() []string { return targetChannel(e.Recording.TargetURI) }
func (e *RecordingStarted) BridgeIDs() []string  { return targetBridge(e.Recording.TargetURI) }

// RecordingFinished: a live recording ended (state "done").
type RecordingFinished struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

func (e *RecordingFinished) ChannelIDs() []string { return targetChannel(e.Recording.TargetURI) }
func (e *RecordingFinished) BridgeIDs() []string  { return targetBridge(e.Recording.TargetURI) }

// RecordingFailed: a live recording failed (Recording.Cause says why).
type RecordingFailed struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

func (e *RecordingFailed) ChannelIDs() []string { return targetChannel(e.Recording.TargetURI) }
func (e *RecordingFailed) BridgeIDs() []string  { return targetBridge(e.Recording.TargetURI) }

// PlaybackStarted: a playback began.
type PlaybackStarted struct {
	EventBase
	Playback Playback `json:"playback"`
}

func (e *PlaybackStarted) ChannelIDs() []string { return targetChannel(e.Playback.TargetURI) }
func (e *PlaybackStarted) BridgeIDs() []string  { return targetBridge(e.Playback.TargetURI) }

// PlaybackContinuing: the next media item of a playback list started.
type PlaybackContinuing struct {
	EventBase
	Playback Playback `json:"playback"`
}

func (e *PlaybackContinuing) ChannelIDs() []string { return targetChannel(e.Playback.TargetURI) }
func (e *PlaybackContinuing) BridgeIDs() []string  { return targetBridge(e.Playback.TargetURI) }

// PlaybackFinished: a playback ended (state "done", "cancelled", "failed").
type PlaybackFinished struct {
	EventBase
	Playback Playback `json:"playback"`
}

func (e *PlaybackFinished) ChannelIDs() []string { return targetChannel(e.Playback.TargetURI) }
func (e *PlaybackFinished) BridgeIDs() []string  { return targetBridge(e.Playback.TargetURI) }

// PeerStatusChange: e.g. Reachable when an endpoint with a static contact is created. It does NOT
// report outbound registration state (nothing in ARI does).
type PeerStatusChange struct {
	EventBase
	Endpoint Endpoint `json:"endpoint"`
	Peer     Peer     `json:"peer"`
}

// DeviceStateChanged: a device state changed.
type DeviceStateChanged struct {
	EventBase
	DeviceState DeviceState `json:"device_state"`
}

// EndpointStateChange: an endpoint's state changed.
type EndpointStateChange struct {
	EventBase
	Endpoint Endpoint `json:"endpoint"`
}

// ApplicationReplaced: another websocket registered the same application name; this connection
// will no longer receive events for it.
type ApplicationReplaced struct {
	EventBase
}

// RawEvent is any event type this package has no struct for. It is delivered, never dropped.
type RawEvent struct {
	EventBase
	Raw json.RawMessage // the complete message as received
}

// Reconnected is synthetic (not sent by Asterisk): the events websocket was re-established after
// a disconnection, so events may have been missed. It goes to the catch-all subscriptions;
// reconcile with ListChannels / ListBridges.
type Reconnected struct {
	EventBase
	Reconnects int    // ConnState.Reconnects after this reconnection
	LastError  string // why the previous connection ended
}

// EventTypeReconnected is Reconnected's Type().
const EventTypeReconnected = "Reconnected"

var eventTypes = map[string]func() Event{
	"StasisStart":          func() Event { return new(StasisStart) },
	"StasisEnd":            func() Event { return new(StasisEnd) },
	"ChannelCreated":       func() Event { return new(ChannelCreated) },
	"ChannelStateChange":   func() Event { return new(ChannelStateChange) },
	"ChannelDtmfReceived":  func() Event { return new(ChannelDtmfReceived) },
	"ChannelHangupRequest": func() Event { return new(ChannelHangupRequest) },
	"ChannelDestroyed":     func() Event { return new(ChannelDestroyed) },
	"ChannelEnteredBridge": func() Event { return new(ChannelEnteredBridge) },
	"ChannelLeftBridge":    func() Event { return new(ChannelLeftBridge) },
	"ChannelVarset":        func() Event { return new(ChannelVarset) },
	"ChannelDialplan":      func() Event { return new(ChannelDialplan) },
	"ChannelConnectedLine": func() Event { return new(ChannelConnectedLine) },
	"ChannelCallerId":      func() Event { return new(ChannelCallerId) },
	"ChannelHold":          func() Event { return new(ChannelHold) },
	"ChannelUnhold":        func() Event { return new(ChannelUnhold) },
	"BridgeCreated":        func() Event { return new(BridgeCreated) },
	"BridgeDestroyed":      func() Event { return new(BridgeDestroyed) },
	"Dial":                 func() Event { return new(Dial) },
	"RecordingStarted":     func() Event { return new(RecordingStarted) },
	"RecordingFinished":    func() Event { return new(RecordingFinished) },
	"RecordingFailed":      func() Event { return new(RecordingFailed) },
	"PlaybackStarted":      func() Event { return new(PlaybackStarted) },
	"PlaybackContinuing":   func() Event { return new(PlaybackContinuing) },
	"PlaybackFinished":     func() Event { return new(PlaybackFinished) },
	"PeerStatusChange":     func() Event { return new(PeerStatusChange) },
	"DeviceStateChanged":   func() Event { return new(DeviceStateChanged) },
	"EndpointStateChange":  func() Event { return new(EndpointStateChange) },
	"ApplicationReplaced":  func() Event { return new(ApplicationReplaced) },
}

// DecodeEvent decodes one websocket message. Known types become their typed struct (pointer);
// unknown types become *RawEvent with a copy of data. It fails only for messages that are not a
// JSON object with a "type", or whose fields do not match the model.
func DecodeEvent(data []byte) (Event, error) {
	typ, ok := peekType(data)
	if !ok {
		// Unusual shape (escaped key, non-object...): let encoding/json decide.
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return nil, fmt.Errorf("ari: decode event: %w", err)
		}
		typ = head.Type
	}
	if typ == "" {
		return nil, errors.New(`ari: decode event: no "type" field`)
	}
	var ev Event
	if newEvent, ok := eventTypes[typ]; ok {
		ev = newEvent()
	} else {
		ev = &RawEvent{Raw: append(json.RawMessage(nil), data...)}
	}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("ari: decode %s event: %w", typ, err)
	}
	return ev, nil
}

// peekType finds the value of the top-level "type" key without decoding the message, so that
// the message is decoded by encoding/json only once, straight into its typed struct. It gives up
// (ok=false) on anything unusual — escapes in the key or value, malformed input — and the caller
// falls back to encoding/json. Nested "type" keys (e.g. inside channelvars) are skipped.
func peekType(data []byte) (typ string, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return "", false
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] != '"' {
			return "", false
		}
		keyStart := i + 1
		end, escaped := scanString(data, i)
		if end < 0 {
			return "", false
		}
		if escaped {
			return "", false
		}
		key := data[keyStart : end-1]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return "", false
		}
		i = skipSpace(data, i+1)
		if string(key) == "type" {
			if i >= len(data) || data[i] != '"' {
				return "", false
			}
			vend, vesc := scanString(data, i)
			if vend < 0 || vesc {
				return "", false
			}
			return string(data[i+1 : vend-1]), true
		}
		if i = skipValue(data, i); i < 0 {
			return "", false
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return "", false
		}
		switch data[i] {
		case ',':
			i++
		case '}':
			return "", true // object without "type"
		default:
			return "", false
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index just past the string starting at data[i] == '"' (or -1) and
// whether it contains escapes.
func scanString(data []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// skipValue returns the index just past the JSON value starting at data[i], or -1.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		end, _ := scanString(data, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, _ := scanString(data, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(data) && data[j] != ',' && data[j] != '}' && data[j] != ']' && data[j] != ' ' &&
			data[j] != '\n' && data[j] != '\t' && data[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// routingKeys returns the channel and bridge ids of ev without duplicates.
func routingKeys(ev Event) []string {
	ch, br := ev.ChannelIDs(), ev.BridgeIDs()
	if len(br) == 0 {
		return ch
	}
	if len(ch) == 0 {
		return br
	}
	keys := make([]string, 0, len(ch)+len(br))
	keys = append(keys, ch...)
	keys = append(keys, br...)
	return keys
}
