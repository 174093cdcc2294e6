package aritest

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type chanKind int

const (
	kindOutbound chanKind = iota // POST /channels or /channels/create (PJSIP/..., Local/...)
	kindInbound                  // injected as if the dialplan ran Stasis()
	kindExternalMedia
	kindSnoop
)

type channel struct {
	id, name, state, protocolID string
	caller, connected           partyJSON
	dp                          dialplanJSON
	created                     time.Time
	kind                        chanKind
	app                         string
	args                        []string
	vars                        map[string]string
	channelVars                 map[string]string // only in the externalMedia response

	inStasis      bool
	stasisPending *time.Timer
	bridge        *bridge

	// outbound
	resource   string // dialstring of the first Dial event, e.g. "sipp-uas"
	originate  bool
	dialed     bool
	answered   bool
	dialTimer  *time.Timer
	peer       *Peer
	scriptTmrs []*time.Timer

	// externalMedia
	media    *rtpEndpoint
	ringback *toneGen
	// snoop
	snoopTarget  *channel
	spyIn        bool
	spyOut       bool
	lastProduced []int16
	lastHeard    []int16

	playback *playback
	mutedIn  bool // audio from the channel is not passed on
	mutedOut bool // audio to the channel is not delivered
}

func (c *channel) json() channelJSON {
	j := channelJSON{ID: c.id, Name: c.name, State: c.state, ProtocolID: c.protocolID, Caller: c.caller,
		Connected: c.connected, Dialplan: c.dp, CreationTime: formatTime(c.created), Language: "en"}
	return j
}

func (c *channel) closeMedia() {
	if c.media != nil {
		c.media.close()
	}
}

func (s *Server) channelEventLocked(c *channel, typ string, extra event) {
	e := event{"channel": c.json()}
	for k, v := range extra {
		e[k] = v
	}
	s.emitLocked(c.app, typ, e)
}

func (s *Server) dialEventLocked(c *channel, status, dialstring string) {
	s.emitLocked(c.app, "Dial", event{"dialstatus": status, "forward": "", "dialstring": dialstring, "peer": c.json()})
}

func (s *Server) setStateLocked(c *channel, state string) {
	if c.state == state {
		return
	}
	c.state = state
	s.channelEventLocked(c, "ChannelStateChange", nil)
}

func (s *Server) enterStasisLocked(c *channel) {
	c.stasisPending = nil
	c.inStasis = true
	c.dp.AppName = "Stasis"
	c.dp.AppData = strings.Join(append([]string{c.app}, c.args...), ",")
	s.channelEventLocked(c, "ChannelVarset", event{"variable": "STASISSTATUS", "value": ""})
	args := c.args
	if args == nil {
		args = []string{}
	}
	s.channelEventLocked(c, "StasisStart", event{"args": args})
}

func (s *Server) addChannelLocked(c *channel) {
	s.channels[c.id] = c
	s.chanOrder = append(s.chanOrder, c.id)
}

func (s *Server) nextNameSeqLocked() string {
	n := s.nameSeq
	s.nameSeq++
	return fmt.Sprintf("%08x", n)
}

// hangup describes how a channel ends.
type hangup struct {
	request      bool // emit ChannelHangupRequest
	reqCause     int
	reqSoft      bool
	reqTech      int
	destroyCause int
	destroyTech  int
	noDestroyed  bool // channel entered via dialplan or snoop: the app gets no ChannelDestroyed
}

func (s *Server) endChannelLocked(c *channel, h hangup) {
	if _, ok := s.channels[c.id]; !ok {
		return
	}
	delete(s.channels, c.id)
	for i, id := range s.chanOrder {
		if id == c.id {
			s.chanOrder = append(s.chanOrder[:i], s.chanOrder[i+1:]...)
			break
		}
	}
	s.stopTimerLocked(c.dialTimer)
	for _, t := range c.scriptTmrs {
		s.stopTimerLocked(t)
	}
	c.closeMedia()
	if c.peer != nil {
		c.peer.hungUp = true
	}
	if c.playback != nil {
		s.finishPlaybackLocked(c.playback)
	}
	if c.kind == kindInbound {
		h.noDestroyed = true
	}
	if c.stasisPending != nil {
		s.stopTimerLocked(c.stasisPending)
		c.stasisPending = nil
		if h.request {
			s.hangupRequestLocked(c, h)
		}
		s.destroyedLocked(c, h)
		return
	}
	if h.request {
		s.hangupRequestLocked(c, h)
	}
	if b := c.bridge; b != nil {
		s.leaveBridgeLocked(b, c)
	}
	if c.inStasis {
		c.inStasis = false
		s.channelEventLocked(c, "StasisEnd", nil)
		s.channelEventLocked(c, "ChannelVarset", event{"variable": "STASISSTATUS", "value": "SUCCESS"})
	}
	c.dp.AppName, c.dp.AppData = "AppDial2", "(Outgoing Line)"
	if !h.noDestroyed {
		s.destroyedLocked(c, h)
	}
	// Snoop channels of this target leave without hangup events (README d).
	for _, o := range s.channels {
		if o.kind == kindSnoop && o.snoopTarget == c {
			s.endChannelLocked(o, hangup{noDestroyed: true})
		}
	}
}

func (s *Server) hangupRequestLocked(c *channel, h hangup) {
	e := event{}
	if h.reqCause != 0 {
		e["cause"] = h.reqCause
	}
	if h.reqSoft {
		e["soft"] = true
	}
	if h.reqTech != 0 {
		e["tech_cause"] = h.reqTech
	}
	s.channelEventLocked(c, "ChannelHangupRequest", e)
}

func (s *Server) destroyedLocked(c *channel, h hangup) {
	if h.noDestroyed {
		return
	}
	cause := h.destroyCause
	if cause == 0 {
		cause = 16
	}
	e := event{"cause": cause, "cause_txt": causeText(cause)}
	if h.destroyTech != 0 {
		e["tech_cause"] = h.destroyTech
	}
	s.channelEventLocked(c, "ChannelDestroyed", e)
}

// ---- routing ----

func (s *Server) routeChannels(w http.ResponseWriter, r *http.Request, seg []string, q url.Values) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(seg) == 0 {
		switch r.Method {
		case http.MethodGet:
			list := make([]channelJSON, 0, len(s.chanOrder))
			for _, id := range s.chanOrder {
				list = append(list, s.channels[id].json())
			}
			return writeJSON(w, http.StatusOK, list)
		case http.MethodPost:
			return s.originateLocked(w, q, q.Get("channelId"), true)
		}
		return writeError(w, http.StatusNotFound, "Resource not found")
	}
	if len(seg) == 1 && r.Method == http.MethodPost {
		switch seg[0] {
		case "create":
			return s.originateLocked(w, q, q.Get("channelId"), false)
		case "externalMedia":
			return s.externalMediaLocked(w, q)
		}
	}
	id := seg[0]
	c := s.channels[id]
	if len(seg) == 1 {
		switch r.Method {
		case http.MethodGet:
			if c == nil {
				return writeError(w, http.StatusNotFound, "Channel not found")
			}
			return writeJSON(w, http.StatusOK, c.json())
		case http.MethodPost:
			if c != nil {
				return writeError(w, http.StatusConflict, "Channel with given unique ID already exists")
			}
			return s.originateLocked(w, q, id, true)
		case http.MethodDelete:
			if c == nil {
				return writeError(w, http.StatusNotFound, "Channel not found")
			}
			cause, ok := hangupReasonCause(q.Get("reason"))
			if !ok {
				return writeError(w, http.StatusBadRequest, "Invalid reason for hangup provided")
			}
			if code := q.Get("reason_code"); code != "" {
				if n, err := strconv.Atoi(code); err == nil {
					cause = n
				}
			}
			s.endChannelLocked(c, hangup{request: true, reqCause: 32, reqSoft: true, destroyCause: cause})
			return noContent(w)
		}
		return writeError(w, http.StatusNotFound, "Resource not found")
	}
	if c == nil {
		if seg[1] == "snoop" {
			return writeError(w, http.StatusNotFound, "Provided channel was not found")
		}
		if seg[1] == "rtp_statistics" {
			return writeError(w, http.StatusNotFound, "Channel cannot be found")
		}
		return writeError(w, http.StatusNotFound, "Channel not found")
	}
	op := seg[1]
	if op == "rtp_statistics" && r.Method == http.MethodGet {
		return writeError(w, http.StatusNotFound, "RTP info not found")
	}
	if op == "snoop" && r.Method == http.MethodPost {
		snoopID := q.Get("snoopId")
		if len(seg) > 2 {
			snoopID = seg[2]
		}
		return s.snoopLocked(w, c, q, snoopID)
	}
	if !c.inStasis {
		return writeError(w, http.StatusConflict, "Channel not in a Stasis application")
	}
	switch op + " " + r.Method {
	case "dial POST":
		return s.dialLocked(w, c, q)
	case "answer POST":
		if c.kind == kindInbound && c.state != "Up" {
			s.answerInboundLocked(c)
		}
		return noContent(w)
	case "ring POST", "hold POST", "hold DELETE", "moh POST", "moh DELETE", "silence POST",
		"silence DELETE", "progress POST":
		return noContent(w)
	case "ring DELETE":
		if c.ringback != nil {
			c.ringback = nil
		}
		return noContent(w)
	case "mute POST", "mute DELETE":
		dir := q.Get("direction")
		if dir == "" {
			dir = "both"
		}
		on := r.Method == http.MethodPost
		if dir == "in" || dir == "both" {
			c.mutedIn = on
		}
		if dir == "out" || dir == "both" {
			c.mutedOut = on
		}
		return noContent(w)
	case "dtmf POST":
		digits := q.Get("dtmf")
		if digits == "" {
			return writeError(w, http.StatusBadRequest, "DTMF is required")
		}
		if c.peer != nil {
			c.peer.dtmfReceived += digits
		}
		return noContent(w)
	case "variable GET":
		name := q.Get("variable")
		if name == "" {
			return writeError(w, http.StatusBadRequest, "Missing variable parameter.")
		}
		v, ok := c.vars[name]
		if !ok {
			return writeError(w, http.StatusNotFound, "Provided variable was not found")
		}
		return writeJSON(w, http.StatusOK, map[string]string{"value": v})
	case "variable POST":
		name := q.Get("variable")
		if name == "" {
			return writeError(w, http.StatusBadRequest, "Missing variable parameter.")
		}
		if c.vars == nil {
			c.vars = map[string]string{}
		}
		c.vars[name] = q.Get("value")
		s.channelEventLocked(c, "ChannelVarset", event{"variable": name, "value": q.Get("value")})
		return noContent(w)
	case "continue POST", "redirect POST", "move POST":
		if op == "redirect" && q.Get("endpoint") == "" {
			return writeError(w, http.StatusBadRequest, "Endpoint parameter not provided")
		}
		// The channel leaves the application and continues outside the simulator's view.
		if c.bridge != nil {
			s.leaveBridgeLocked(c.bridge, c)
		}
		c.inStasis = false
		s.channelEventLocked(c, "StasisEnd", nil)
		s.endChannelLocked(c, hangup{noDestroyed: true})
		return noContent(w)
	case "play POST":
		pbID := q.Get("playbackId")
		if len(seg) > 2 {
			pbID = seg[2]
		}
		return s.playLocked(w, c, q.Get("media"), pbID)
	}
	return writeError(w, http.StatusNotFound, "Resource not found")
}

// parseCallerID parses `Name <number>` or a bare number.
func parseCallerID(s string) partyJSON {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "<"); i >= 0 && strings.HasSuffix(s, ">") {
		return partyJSON{Name: strings.Trim(strings.TrimSpace(s[:i]), `"`), Number: s[i+1 : len(s)-1]}
	}
	return partyJSON{Number: s}
}

// splitEndpoint splits "PJSIP/sipp-uas" into tech and resource.
func splitEndpoint(ep string) (tech, resource string, ok bool) {
	i := strings.Index(ep, "/")
	if i <= 0 || i == len(ep)-1 {
		return "", "", false
	}
	return ep[:i], ep[i+1:], true
}

func (s *Server) originateLocked(w http.ResponseWriter, q url.Values, id string, originate bool) int {
	endpoint := q.Get("endpoint")
	app := q.Get("app")
	tech, resource, ok := splitEndpoint(endpoint)
	if !ok || app == "" {
		return writeError(w, http.StatusBadRequest, "Invalid parameters for originating a channel.")
	}
	switch strings.ToUpper(tech) {
	case "PJSIP", "LOCAL", "SIP", "IAX2":
	default:
		return writeError(w, http.StatusBadRequest, "Invalid parameters for originating a channel.")
	}
	if id == "" {
		id = s.newIDLocked()
	}
	if _, exists := s.channels[id]; exists {
		return writeError(w, http.StatusConflict, "Channel with given unique ID already exists.")
	}
	c := &channel{id: id, state: "Down", created: time.Now(), kind: kindOutbound, app: app,
		resource: resource, originate: originate}
	if a := q.Get("appArgs"); a != "" {
		c.args = strings.Split(a, ",")
	}
	if strings.EqualFold(tech, "Local") {
		c.name = fmt.Sprintf("Local/%s-%s;1", resource, s.nextNameSeqLocked())
	} else {
		base := resource
		if i := strings.Index(base, "@"); i >= 0 {
			base = base[i+1:]
		}
		c.name = fmt.Sprintf("%s/%s-%s", tech, base, s.nextNameSeqLocked())
		c.protocolID = newUUID()
	}
	if cid := q.Get("callerId"); cid != "" {
		c.caller = parseCallerID(cid)
		c.connected = c.caller
	}
	c.dp = dialplanJSON{Context: s.endpointContextLocked(resource), Exten: "s", Priority: 1}
	if originate {
		c.dp.AppName, c.dp.AppData = "AppDial2", "(Outgoing Line)"
	}
	c.peer = s.newPeerLocked(c, s.farEndForLocked(endpoint, resource))
	s.addChannelLocked(c)
	resp := c.json()
	if originate {
		timeout := 30
		if t := q.Get("timeout"); t != "" {
			if n, err := strconv.Atoi(t); err == nil {
				timeout = n
			}
		}
		s.afterLocked(0, func() { s.startDialLocked(c, timeout) })
	} else {
		s.scheduleStasisLocked(c, func() {
			s.channelEventLocked(c, "ChannelDialplan", event{"dialplan_app": "Stasis",
				"dialplan_app_data": strings.Join(append([]string{c.app}, c.args...), ",")})
			s.enterStasisLocked(c)
		})
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) endpointContextLocked(resource string) string {
	if i := strings.Index(resource, "@"); i >= 0 {
		return resource[i+1:]
	}
	for _, a := range s.sorcery["endpoint"][resource] {
		if a.Attribute == "context" {
			return a.Value
		}
	}
	return "default"
}

// scheduleStasisLocked runs enter (which emits StasisStart) after the configured delay.
func (s *Server) scheduleStasisLocked(c *channel, enter func()) {
	if s.cfg.stasisStartDelay <= 0 {
		enter()
		return
	}
	c.stasisPending = s.afterLocked(s.cfg.stasisStartDelay, func() {
		if s.channels[c.id] != c {
			return
		}
		enter()
	})
}

func (s *Server) dialLocked(w http.ResponseWriter, c *channel, q url.Values) int {
	if c.kind != kindOutbound || c.dialed {
		return writeError(w, http.StatusConflict, "Channel cannot be dialed.")
	}
	timeout := 0
	if t := q.Get("timeout"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return writeError(w, http.StatusBadRequest, "Invalid timeout")
		}
		timeout = n
	}
	c.dialed = true
	s.afterLocked(0, func() { s.startDialLocked(c, timeout) })
	return noContent(w)
}

func (s *Server) externalMediaLocked(w http.ResponseWriter, q url.Values) int {
	app := q.Get("app")
	if app == "" {
		return writeError(w, http.StatusBadRequest, "app cannot be empty")
	}
	transport := q.Get("transport")
	if transport == "" {
		transport = "udp"
	}
	if transport == "websocket" {
		if q.Get("encapsulation") != "none" {
			return writeError(w, http.StatusBadRequest, "encapsulation must be 'none' for websocket transport")
		}
		return writeError(w, http.StatusNotImplemented, "aritest: websocket transport is not simulated")
	}
	if q.Get("connection_type") == "server" {
		return writeError(w, http.StatusBadRequest, "'server' connection_type can only be used with the websocket transport")
	}
	if enc := q.Get("encapsulation"); enc != "" && enc != "rtp" {
		return writeError(w, http.StatusBadRequest, "aritest: only rtp encapsulation is simulated")
	}
	host := q.Get("external_host")
	if _, _, err := net.SplitHostPort(host); err != nil {
		return writeError(w, http.StatusBadRequest, "external_host must be <host>:<port> for all transports other than websocket")
	}
	remote, err := net.ResolveUDPAddr("udp", host)
	if err != nil {
		return writeError(w, http.StatusBadRequest, "external_host must be <host>:<port> for all transports other than websocket")
	}
	format := q.Get("format")
	codec, ok := codecByFormat(format)
	if !ok {
		return writeError(w, http.StatusInternalServerError, "An internal error prevented this request from being handled")
	}
	id := q.Get("channelId")
	if id == "" {
		id = s.newIDLocked()
	}
	if _, exists := s.channels[id]; exists {
		return writeError(w, http.StatusConflict, "Channel with given unique ID already exists.")
	}
	if s.closed {
		return writeError(w, http.StatusServiceUnavailable, "aritest: server closed")
	}
	ep, err := s.newRTPEndpoint(remote, codec)
	if err != nil {
		return writeError(w, http.StatusInternalServerError, "An internal error prevented this request from being handled")
	}
	c := &channel{id: id, state: "Down", created: time.Now(), kind: kindExternalMedia, app: app,
		name: fmt.Sprintf("UnicastRTP/%s-0x%s", host, randomHex(6)), media: ep}
	c.dp = dialplanJSON{Context: "default", Exten: "s", Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"}
	local := ep.localAddr()
	c.channelVars = map[string]string{"UNICASTRTP_LOCAL_ADDRESS": local.IP.String(),
		"UNICASTRTP_LOCAL_PORT": strconv.Itoa(local.Port)}
	s.addChannelLocked(c)
	resp := c.json()
	resp.ChannelVars = c.channelVars
	if !s.appConnectedLocked(app) {
		// Asterisk answers 200 and hangs the channel up at once: "Stasis app '...' doesn't exist".
		s.endChannelLocked(c, hangup{})
		return writeJSON(w, http.StatusOK, resp)
	}
	dialstring := fmt.Sprintf("%s/c(%s)", host, format)
	s.scheduleStasisLocked(c, func() {
		s.dialEventLocked(c, "", dialstring)
		s.setStateLocked(c, "Up")
		s.dialEventLocked(c, "ANSWER", dialstring)
		s.enterStasisLocked(c)
	})
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) snoopLocked(w http.ResponseWriter, target *channel, q url.Values, snoopID string) int {
	spy, whisper := q.Get("spy"), q.Get("whisper")
	if spy == "" {
		spy = "none"
	}
	if whisper == "" {
		whisper = "none"
	}
	valid := map[string]bool{"none": true, "in": true, "out": true, "both": true}
	if !valid[spy] {
		return writeError(w, http.StatusBadRequest, "Invalid direction specified for spy")
	}
	if !valid[whisper] {
		return writeError(w, http.StatusBadRequest, "Invalid direction specified for whisper")
	}
	if spy == "none" && whisper == "none" {
		return writeError(w, http.StatusBadRequest, "Direction must be specified for at least spy or whisper")
	}
	app := q.Get("app")
	if app == "" {
		return writeError(w, http.StatusBadRequest, "Application name is required")
	}
	if snoopID == "" {
		snoopID = s.newIDLocked()
	}
	if _, exists := s.channels[snoopID]; exists {
		return writeError(w, http.StatusConflict, "Channel with given unique ID already exists.")
	}
	c := &channel{id: snoopID, state: "Up", created: time.Now(), kind: kindSnoop, app: app,
		name: fmt.Sprintf("Snoop/%s-%s", target.id, s.nextNameSeqLocked()), snoopTarget: target,
		spyIn: spy == "in" || spy == "both", spyOut: spy == "out" || spy == "both"}
	if a := q.Get("appArgs"); a != "" {
		c.args = strings.Split(a, ",")
	}
	c.dp = dialplanJSON{Context: "default", Exten: "s", Priority: 1, AppName: "Stasis",
		AppData: strings.Join(append([]string{app}, c.args...), ",")}
	s.addChannelLocked(c)
	resp := c.json()
	s.afterLocked(0, func() {
		if s.channels[c.id] == c {
			s.enterStasisLocked(c)
		}
	})
	return writeJSON(w, http.StatusOK, resp)
}

// Channels returns the channels that are still alive.
func (s *Server) Channels() []ChannelInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ChannelInfo, 0, len(s.chanOrder))
	for _, id := range s.chanOrder {
		c := s.channels[id]
		bid := ""
		if c.bridge != nil {
			bid = c.bridge.id
		}
		out = append(out, ChannelInfo{ID: c.id, Name: c.name, State: c.state, InStasis: c.inStasis, BridgeID: bid})
	}
	return out
}

// ChannelInfo is a summary of a live channel for test assertions.
type ChannelInfo struct {
	ID, Name, State string
	InStasis        bool
	BridgeID        string
}

func newUUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
