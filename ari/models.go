package ari

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Time is an ARI timestamp. Asterisk writes "2026-11-23T19:11:13.459+0000" (no colon in the
// zone offset), which time.Time's RFC 3339 decoder rejects.
type Time struct{ time.Time }

// aristamp is the layout Asterisk 22 uses for every Date field and event timestamp.
const aristamp = "2006-01-02T15:04:05.000-0700"

// UnmarshalJSON accepts Asterisk's layout and, as a fallback, RFC 3339.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		s = string(b[1 : n-1]) // the common case: no escapes to undo
	} else {
		var err error
		if s, err = strconv.Unquote(string(b)); err != nil {
			return fmt.Errorf("ari: timestamp %s: %w", b, err)
		}
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range [...]string{aristamp, "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("ari: unrecognised timestamp %q", s)
}

// MarshalJSON writes the Asterisk layout so values round-trip.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`""`), nil
	}
	return []byte(strconv.Quote(t.Format(aristamp))), nil
}

// CallerID is the swagger model CallerID.
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// DialplanCEP is the swagger model DialplanCEP (context, extension, priority).
type DialplanCEP struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// Channel is the swagger model Channel.
type Channel struct {
	ID           string            `json:"id"`
	ProtocolID   string            `json:"protocol_id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	Caller       CallerID          `json:"caller"`
	Connected    CallerID          `json:"connected"`
	AccountCode  string            `json:"accountcode"`
	Dialplan     DialplanCEP       `json:"dialplan"`
	CreationTime Time              `json:"creationtime"`
	Language     string            `json:"language"`
	ChannelVars  map[string]string `json:"channelvars,omitempty"`
	CallerRDNIS  string            `json:"caller_rdnis,omitempty"`
	TenantID     string            `json:"tenantid,omitempty"`
}

// Channel variables Asterisk puts in channelvars of an externalMedia channel.
const (
	VarUnicastRTPLocalAddress = "UNICASTRTP_LOCAL_ADDRESS"
	VarUnicastRTPLocalPort    = "UNICASTRTP_LOCAL_PORT"
	VarMediaWebSocketConnID   = "MEDIA_WEBSOCKET_CONNECTION_ID"
	VarMediaWebSocketFrame    = "MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE"
)

// LocalRTPAddr returns the address Asterisk sends RTP from and expects RTP on for an
// externalMedia (UnicastRTP) channel, taken from the channelvars of the externalMedia response.
// Asterisk's RTP is symmetric: this is both the source of its packets and where ours go.
func (c *Channel) LocalRTPAddr() (netip.AddrPort, error) {
	host, port := c.ChannelVars[VarUnicastRTPLocalAddress], c.ChannelVars[VarUnicastRTPLocalPort]
	if host == "" || port == "" {
		return netip.AddrPort{}, fmt.Errorf("ari: channel %q has no %s/%s (not a UDP externalMedia channel?)",
			c.ID, VarUnicastRTPLocalAddress, VarUnicastRTPLocalPort)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("ari: channel %q: bad %s: %w", c.ID, VarUnicastRTPLocalAddress, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, fmt.Errorf("ari: channel %q: bad %s %q", c.ID, VarUnicastRTPLocalPort, port)
	}
	return netip.AddrPortFrom(addr, uint16(p)), nil
}

// MediaWebSocketConnectionID returns the chan_websocket connection id of an externalMedia channel
// created with transport=websocket (the client connects to /media/<id>), or "".
func (c *Channel) MediaWebSocketConnectionID() string {
	return c.ChannelVars[VarMediaWebSocketConnID]
}

// Bridge is the swagger model Bridge.
type Bridge struct {
	ID            string            `json:"id"`
	Technology    string            `json:"technology"`
	BridgeType    string            `json:"bridge_type"`
	BridgeClass   string            `json:"bridge_class"`
	Creator       string            `json:"creator"`
	Name          string            `json:"name"`
	Channels      []string          `json:"channels"`
	VideoMode     string            `json:"video_mode,omitempty"`
	VideoSourceID string            `json:"video_source_id,omitempty"`
	CreationTime  Time              `json:"creationtime"`
	BridgeVars    map[string]string `json:"bridgevars,omitempty"`
}

// LiveRecording is the swagger model LiveRecording.
type LiveRecording struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	TargetURI       string `json:"target_uri"`
	State           string `json:"state"`
	Duration        int    `json:"duration,omitempty"`
	TalkingDuration int    `json:"talking_duration,omitempty"`
	SilenceDuration int    `json:"silence_duration,omitempty"`
	Cause           string `json:"cause,omitempty"`
}

// StoredRecording is the swagger model StoredRecording. Name may contain a folder ("crm/test").
type StoredRecording struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

// Playback is the swagger model Playback.
type Playback struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language,omitempty"`
	State        string `json:"state"`
}

// BuildInfo is the swagger model BuildInfo.
type BuildInfo struct {
	OS      string `json:"os"`
	Kernel  string `json:"kernel"`
	Options string `json:"options"`
	Machine string `json:"machine"`
	Date    string `json:"date"`
	User    string `json:"user"`
}

// SystemInfo is the swagger model SystemInfo.
type SystemInfo struct {
	Version  string `json:"version"`
	EntityID string `json:"entity_id"`
}

// SetID is the swagger model SetId.
type SetID struct {
	User  string `json:"user"`
	Group string `json:"group"`
}

// ConfigInfo is the swagger model ConfigInfo.
type ConfigInfo struct {
	Name            string  `json:"name"`
	DefaultLanguage string  `json:"default_language"`
	MaxChannels     int     `json:"max_channels,omitempty"`
	MaxOpenFiles    int     `json:"max_open_files,omitempty"`
	MaxLoad         float64 `json:"max_load,omitempty"`
	SetID           SetID   `json:"setid"`
}

// StatusInfo is the swagger model StatusInfo.
type StatusInfo struct {
	StartupTime    Time `json:"startup_time"`
	LastReloadTime Time `json:"last_reload_time"`
}

// AsteriskInfo is the swagger model AsteriskInfo; sections not requested with "only" are nil.
type AsteriskInfo struct {
	Build  *BuildInfo  `json:"build,omitempty"`
	System *SystemInfo `json:"system,omitempty"`
	Config *ConfigInfo `json:"config,omitempty"`
	Status *StatusInfo `json:"status,omitempty"`
}

// AsteriskPing is the swagger model AsteriskPing.
type AsteriskPing struct {
	AsteriskID string `json:"asterisk_id"`
	Ping       string `json:"ping"`
	Timestamp  string `json:"timestamp"`
}

// Module is the swagger model Module.
type Module struct {
	Name         string `json:"name"`
	Description  string `json:"description"`
	UseCount     int    `json:"use_count"`
	Status       string `json:"status"`
	SupportLevel string `json:"support_level"`
}

// Variable is the swagger model Variable.
type Variable struct {
	Value string `json:"value"`
}

// ConfigTuple is the swagger model ConfigTuple: one attribute of a dynamic (sorcery) object.
type ConfigTuple struct {
	Attribute string `json:"attribute"`
	Value     string `json:"value"`
}

// ConfigTuples is the field list of a dynamic configuration object.
type ConfigTuples []ConfigTuple

// Get returns the value of attribute and whether it is present.
func (t ConfigTuples) Get(attribute string) (string, bool) {
	for _, f := range t {
		if f.Attribute == attribute {
			return f.Value, true
		}
	}
	return "", false
}

// Fields builds a field list from attribute/value pairs: Fields("username", "1001", "auth_type", "userpass").
// It panics on an odd number of arguments, which is a programming error.
func Fields(attributeValue ...string) ConfigTuples {
	if len(attributeValue)%2 != 0 {
		panic("ari.Fields: odd number of arguments")
	}
	out := make(ConfigTuples, 0, len(attributeValue)/2)
	for i := 0; i < len(attributeValue); i += 2 {
		out = append(out, ConfigTuple{Attribute: attributeValue[i], Value: attributeValue[i+1]})
	}
	return out
}

// Endpoint is the swagger model Endpoint.
type Endpoint struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state,omitempty"`
	ChannelIDs []string `json:"channel_ids"`
}

// DeviceState is the swagger model DeviceState.
type DeviceState struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// Application is the swagger model Application.
type Application struct {
	Name             string           `json:"name"`
	ChannelIDs       []string         `json:"channel_ids"`
	BridgeIDs        []string         `json:"bridge_ids"`
	EndpointIDs      []string         `json:"endpoint_ids"`
	DeviceNames      []string         `json:"device_names"`
	EventsAllowed    []map[string]any `json:"events_allowed"`
	EventsDisallowed []map[string]any `json:"events_disallowed"`
}

// Peer is the swagger model Peer (in PeerStatusChange).
type Peer struct {
	PeerStatus string `json:"peer_status"`
	Cause      string `json:"cause,omitempty"`
	Address    string `json:"address,omitempty"`
	Port       string `json:"port,omitempty"`
	Time       string `json:"time,omitempty"`
}

// targetID splits a target_uri such as "bridge:br1" or "channel:em1" into kind and id.
func targetID(uri string) (kind, id string) {
	kind, id, ok := strings.Cut(uri, ":")
	if !ok {
		return "", ""
	}
	return kind, id
}
