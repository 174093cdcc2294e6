package aritest

import (
	"encoding/json"
	"strings"
	"time"
)

// The JSON shapes below mirror what Asterisk 22.10.1 sends (see the transcripts in
// /work/shared/asterisk-reference). They are deliberately independent of package ari so that the
// simulator checks the client against Asterisk's wire format, not against the client's own structs.

// asteriskTimeLayout is Asterisk's timestamp format, e.g. "2026-05-14T10:00:00.123+0000".
const asteriskTimeLayout = "2006-01-02T15:04:05.000-0700"

func formatTime(t time.Time) string { return t.UTC().Format(asteriskTimeLayout) }

type partyJSON struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type dialplanJSON struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int    `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

type channelJSON struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	ProtocolID   string            `json:"protocol_id"`
	Caller       partyJSON         `json:"caller"`
	Connected    partyJSON         `json:"connected"`
	AccountCode  string            `json:"accountcode"`
	Dialplan     dialplanJSON      `json:"dialplan"`
	CreationTime string            `json:"creationtime"`
	Language     string            `json:"language"`
	ChannelVars  map[string]string `json:"channelvars,omitempty"`
}

type bridgeJSON struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`
	BridgeClass  string   `json:"bridge_class"`
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	CreationTime string   `json:"creationtime"`
	VideoMode    string   `json:"video_mode"`
}

type liveRecordingJSON struct {
	Name      string `json:"name"`
	Format    string `json:"format"`
	State     string `json:"state"`
	TargetURI string `json:"target_uri"`
	Duration  *int   `json:"duration,omitempty"`
}

type storedRecordingJSON struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

type playbackJSON struct {
	ID        string `json:"id"`
	MediaURI  string `json:"media_uri"`
	TargetURI string `json:"target_uri"`
	Language  string `json:"language"`
	State     string `json:"state"`
}

type endpointJSON struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state"`
	ChannelIDs []string `json:"channel_ids"`
}

type applicationJSON struct {
	Name             string   `json:"name"`
	ChannelIDs       []string `json:"channel_ids"`
	BridgeIDs        []string `json:"bridge_ids"`
	EndpointIDs      []string `json:"endpoint_ids"`
	DeviceNames      []string `json:"device_names"`
	EventsAllowed    []any    `json:"events_allowed"`
	EventsDisallowed []any    `json:"events_disallowed"`
}

type moduleJSON struct {
	Name         string `json:"name"`
	Description  string `json:"description"`
	UseCount     int    `json:"use_count"`
	Status       string `json:"status"`
	SupportLevel string `json:"support_level"`
}

type attr struct {
	Attribute string `json:"attribute"`
	Value     string `json:"value"`
}

type errorJSON struct {
	Message string `json:"message"`
}

// event is one ARI event before the per-application fields are added.
type event map[string]any

func (e event) marshalFor(app, asteriskID string) []byte {
	out := make(map[string]any, len(e)+2)
	for k, v := range e {
		out[k] = v
	}
	out["application"] = app
	out["asterisk_id"] = asteriskID
	b, err := json.Marshal(out)
	if err != nil {
		// Every value placed in an event is a plain struct, map or scalar: this cannot fail.
		panic("aritest: marshal event: " + err.Error())
	}
	return b
}

// Event is an ARI event as delivered on the websocket, for inspection by tests.
type Event struct {
	Type string
	// ChannelID is the id of the event's channel (or peer for Dial), "" if none.
	ChannelID string
	// Raw is the JSON the websocket client received.
	Raw json.RawMessage
}

// causeText maps Q.850 causes to the text Asterisk puts in ChannelDestroyed.
func causeText(cause int) string {
	switch cause {
	case 16:
		return "Normal Clearing"
	case 17:
		return "User busy"
	case 19:
		return "User alerting, no answer"
	case 21:
		return "Call Rejected"
	case 34:
		return "Circuit/channel congestion"
	case 1:
		return "Unallocated (unassigned) number"
	default:
		return "Unknown"
	}
}

// hangupReasonCause maps the `reason` parameter of DELETE /channels/{id} to a cause.
func hangupReasonCause(reason string) (int, bool) {
	switch strings.ToLower(reason) {
	case "", "normal":
		return 16, true
	case "busy":
		return 17, true
	case "congestion":
		return 34, true
	case "no_answer":
		return 19, true
	case "timeout":
		return 19, true
	case "rejected":
		return 21, true
	case "unallocated":
		return 1, true
	case "answered_elsewhere":
		return 26, true
	}
	return 0, false
}
