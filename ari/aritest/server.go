package aritest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	username, password string
	stasisStartDelay   time.Duration
	staticEndpoints    []string
	asteriskID         string
}

// WithCredentials sets the ARI user and password (defaults "crmphone" / "crmphone-secret").
func WithCredentials(user, password string) Option {
	return func(c *config) { c.username, c.password = user, password }
}

// WithStasisStartDelay sets how long after the HTTP request of POST /channels/create and
// /channels/externalMedia the channel enters Stasis (StasisStart). Real Asterisk usually answers
// the request first (see README h), so a client that adds the channel to a bridge before its
// StasisStart gets 422. Default 3 ms; 0 emits StasisStart before the HTTP response.
func WithStasisStartDelay(d time.Duration) Option {
	return func(c *config) { c.stasisStartDelay = d }
}

// WithStaticEndpoints declares PJSIP endpoints that come from pjsip.conf: they are listed by
// /ari/endpoints and are read-only for the dynamic configuration API (403).
func WithStaticEndpoints(names ...string) Option {
	return func(c *config) { c.staticEndpoints = append(c.staticEndpoints, names...) }
}

// Server is an in-process Asterisk 22 ARI simulator.
type Server struct {
	cfg  config
	http *httptest.Server

	mu       sync.Mutex
	closed   bool
	started  time.Time
	username string
	password string

	channels   map[string]*channel
	chanOrder  []string
	bridges    map[string]*bridge
	bridgeOrd  []string
	subs       map[*subscriber]struct{}
	peers      map[string]*Peer
	farEnds    map[string]FarEnd
	recordings map[string]*recording // live and stored, by name
	playbacks  map[string]*playback
	sorcery    map[string]map[string][]attr // type -> id -> attrs
	sorcOrder  map[string][]string
	modules    map[string]moduleJSON
	requests   []Request
	faults     Faults
	timers     map[*time.Timer]struct{}
	nameSeq    int
	idSeq      int
	history    []Event

	wg      sync.WaitGroup // timers, websocket and RTP goroutines
	stopMix chan struct{}
}

// Faults are failures tests can switch on to exercise error handling (e.g. the doctor page).
type Faults struct {
	// DynamicConfigForbidden makes PUT on /asterisk/config/dynamic fail with 403 as on an
	// Asterisk without a memory sorcery wizard.
	DynamicConfigForbidden bool
	// RTPSilent stops all RTP from the simulator to externalMedia peers and drops what they send.
	RTPSilent bool
	// RefuseApps lists application names whose websocket connections are refused (400), so the
	// application never gets registered.
	RefuseApps []string
}

// Request is one logged HTTP request.
type Request struct {
	Method string
	Path   string // path with query, as sent
	Status int
	Time   time.Time
}

// New starts a simulator on 127.0.0.1. If tb is not nil, Close is registered as cleanup.
func New(tb testing.TB, opts ...Option) *Server {
	cfg := config{
		username:         "crmphone",
		password:         "crmphone-secret",
		stasisStartDelay: 3 * time.Millisecond,
		asteriskID:       "02:fc:00:00:00:01",
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		cfg:        cfg,
		started:    time.Now(),
		username:   cfg.username,
		password:   cfg.password,
		channels:   map[string]*channel{},
		bridges:    map[string]*bridge{},
		subs:       map[*subscriber]struct{}{},
		peers:      map[string]*Peer{},
		farEnds:    map[string]FarEnd{},
		recordings: map[string]*recording{},
		playbacks:  map[string]*playback{},
		sorcery:    map[string]map[string][]attr{},
		sorcOrder:  map[string][]string{},
		modules:    defaultModules(),
		timers:     map[*time.Timer]struct{}{},
		stopMix:    make(chan struct{}),
	}
	s.http = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.http.Start()
	s.wg.Add(1)
	go s.mixLoop()
	if tb != nil {
		tb.Cleanup(s.Close)
	}
	return s
}

// URL is the base URL without /ari, e.g. "http://127.0.0.1:41234".
func (s *Server) URL() string { return s.http.URL }

// Username and Password are the ARI credentials the simulator accepts.
func (s *Server) Username() string { s.mu.Lock(); defer s.mu.Unlock(); return s.username }

// Password returns the accepted ARI password.
func (s *Server) Password() string { s.mu.Lock(); defer s.mu.Unlock(); return s.password }

// SetCredentials changes the accepted credentials at run time (e.g. to simulate a password change).
func (s *Server) SetCredentials(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.username, s.password = user, password
}

// SetFaults replaces the active fault injection settings.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// RemoveModule makes a module disappear from /asterisk/modules (as if not loaded).
func (s *Server) RemoveModule(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.modules, name)
}

// Close hangs up everything, closes websockets and sockets and waits for every goroutine.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
	}
	s.timers = map[*time.Timer]struct{}{}
	for _, c := range s.channels {
		c.closeMedia()
	}
	for sub := range s.subs {
		sub.close()
	}
	close(s.stopMix)
	s.mu.Unlock()
	s.http.CloseClientConnections()
	s.http.Close()
	s.wg.Wait()
}

// Requests returns the HTTP requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Events returns every event emitted so far (to any application), in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.history...)
}

// after runs fn with s.mu held after d, unless the server is closed first.
func (s *Server) afterLocked(d time.Duration, fn func()) *time.Timer {
	if s.closed {
		return nil
	}
	s.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer s.wg.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.timers, t)
		if s.closed {
			return
		}
		fn()
	})
	s.timers[t] = struct{}{}
	return t
}

func (s *Server) stopTimerLocked(t *time.Timer) {
	if t == nil {
		return
	}
	if _, ok := s.timers[t]; !ok {
		return
	}
	delete(s.timers, t)
	if t.Stop() {
		s.wg.Done()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) newIDLocked() string {
	s.idSeq++
	return fmt.Sprintf("%d.%d", s.started.Unix(), s.idSeq)
}

// ---- HTTP plumbing ----

func (s *Server) authorized(r *http.Request) bool {
	s.mu.Lock()
	user, pass := s.username, s.password
	s.mu.Unlock()
	if u, p, ok := r.BasicAuth(); ok {
		return u == user && p == pass
	}
	if k := r.URL.Query().Get("api_key"); k != "" {
		return k == user+":"+pass
	}
	return false
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	status := s.route(w, r)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.RequestURI(), Status: status, Time: time.Now()})
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
	return status
}

func writeError(w http.ResponseWriter, status int, msg string) int {
	return writeJSON(w, status, errorJSON{Message: msg})
}

func noContent(w http.ResponseWriter) int {
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// splitPath splits the escaped path after /ari/ into unescaped segments, so that an encoded
// slash (%2F) stays inside one segment as Asterisk does for recording names.
func splitPath(escaped string) ([]string, bool) {
	raw := strings.Split(strings.Trim(escaped, "/"), "/")
	out := make([]string, 0, len(raw))
	for _, p := range raw {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		out = append(out, u)
	}
	return out, true
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) int {
	escaped := r.URL.EscapedPath()
	if !strings.HasPrefix(escaped, "/ari/") {
		return writeError(w, http.StatusNotFound, "Resource not found")
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return writeError(w, http.StatusServiceUnavailable, "aritest: server closed")
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		return writeError(w, http.StatusUnauthorized, "Authentication required")
	}
	seg, ok := splitPath(strings.TrimPrefix(escaped, "/ari/"))
	if !ok || len(seg) == 0 {
		return writeError(w, http.StatusNotFound, "Resource not found")
	}
	q := r.URL.Query()
	switch seg[0] {
	case "events":
		if len(seg) == 1 && r.Method == http.MethodGet {
			return s.serveEvents(w, r)
		}
	case "asterisk":
		return s.routeAsterisk(w, r, seg[1:], q)
	case "applications":
		return s.routeApplications(w, r, seg[1:])
	case "channels":
		return s.routeChannels(w, r, seg[1:], q)
	case "bridges":
		return s.routeBridges(w, r, seg[1:], q)
	case "recordings":
		return s.routeRecordings(w, r, seg[1:], q)
	case "playbacks":
		return s.routePlaybacks(w, r, seg[1:])
	case "endpoints":
		return s.routeEndpoints(w, r, seg[1:])
	}
	return writeError(w, http.StatusNotFound, "Resource not found")
}

// ---- /asterisk ----

func defaultModules() map[string]moduleJSON {
	mods := map[string]string{
		"res_ari.so":                                 "Asterisk RESTful Interface",
		"res_ari_applications.so":                    "RESTful API module - Stasis application resources",
		"res_ari_asterisk.so":                        "RESTful API module - Asterisk resources",
		"res_ari_bridges.so":                         "RESTful API module - Bridge resources",
		"res_ari_channels.so":                        "RESTful API module - Channel resources",
		"res_ari_endpoints.so":                       "RESTful API module - Endpoint resources",
		"res_ari_events.so":                          "RESTful API module - WebSocket resource",
		"res_ari_playbacks.so":                       "RESTful API module - Playback control resources",
		"res_ari_recordings.so":                      "RESTful API module - Recording resources",
		"res_ari_model.so":                           "ARI Model validators",
		"res_stasis.so":                              "Stasis application support",
		"res_stasis_answer.so":                       "Stasis application answer support",
		"res_stasis_playback.so":                     "Stasis application playback support",
		"res_stasis_recording.so":                    "Stasis application recording support",
		"res_stasis_snoop.so":                        "Stasis application snoop support",
		"res_http_websocket.so":                      "HTTP WebSocket Support",
		"chan_rtp.so":                                "RTP Media Channel",
		"chan_pjsip.so":                              "PJSIP Channel Driver",
		"res_pjsip.so":                               "Basic SIP resource",
		"res_pjsip_outbound_registration.so":         "PJSIP Outbound Registration Support",
		"res_pjsip_session.so":                       "PJSIP Session resource",
		"res_sorcery_memory.so":                      "Sorcery In-Memory Object Wizard",
		"res_sorcery_config.so":                      "Sorcery Configuration File Object Wizard",
		"app_mixmonitor.so":                          "Mixed Audio Monitoring Application",
		"app_stasis.so":                              "Stasis dialplan application",
		"app_echo.so":                                "Simple Echo Application",
		"app_playtones.so":                           "Playtones Application",
		"codec_ulaw.so":                              "mu-Law Coder/Decoder",
		"codec_alaw.so":                              "A-law Coder/Decoder",
		"codec_g722.so":                              "ITU G.722-64kbps G722 Transcoder",
		"bridge_simple.so":                           "Simple two channel bridging module",
		"bridge_softmix.so":                          "Multi-party software based channel mixing",
		"res_pjsip_outbound_authenticator_digest.so": "PJSIP authentication resource",
	}
	out := make(map[string]moduleJSON, len(mods))
	for n, d := range mods {
		out[n] = moduleJSON{Name: n, Description: d, UseCount: 0, Status: "Running", SupportLevel: "core"}
	}
	return out
}

func (s *Server) routeAsterisk(w http.ResponseWriter, r *http.Request, seg []string, q url.Values) int {
	if len(seg) == 0 {
		return writeError(w, http.StatusNotFound, "Resource not found")
	}
	switch seg[0] {
	case "info":
		if r.Method != http.MethodGet {
			break
		}
		return writeJSON(w, http.StatusOK, s.info(q.Get("only")))
	case "ping":
		if r.Method != http.MethodGet {
			break
		}
		return writeJSON(w, http.StatusOK, map[string]string{
			"asterisk_id": s.cfg.asteriskID, "ping": "pong", "timestamp": formatTime(time.Now()),
		})
	case "modules":
		if r.Method != http.MethodGet {
			break
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(seg) == 1 {
			names := make([]string, 0, len(s.modules))
			for n := range s.modules {
				names = append(names, n)
			}
			sort.Strings(names)
			list := make([]moduleJSON, 0, len(names))
			for _, n := range names {
				list = append(list, s.modules[n])
			}
			return writeJSON(w, http.StatusOK, list)
		}
		m, ok := s.modules[seg[1]]
		if !ok {
			return writeError(w, http.StatusNotFound, "Module could not be found in running modules")
		}
		return writeJSON(w, http.StatusOK, m)
	case "config":
		if len(seg) == 5 && seg[1] == "dynamic" {
			return s.serveDynamicConfig(w, r, seg[2], seg[3], seg[4])
		}
	}
	return writeError(w, http.StatusNotFound, "Resource not found")
}

func (s *Server) info(only string) map[string]any {
	start := formatTime(s.started)
	all := map[string]any{
		"build": map[string]any{"os": "Linux", "kernel": "6.1.0", "options": "", "machine": "x86_64",
			"date": "2026-01-01 00:00:00 UTC", "user": "aritest"},
		"system": map[string]any{"version": "22.10.1", "entity_id": s.cfg.asteriskID},
		"config": map[string]any{"name": "", "default_language": "en", "max_channels": 0,
			"max_open_files": 0, "max_load": 0.0, "setid": map[string]any{"user": "asterisk", "group": "asterisk"}},
		"status": map[string]any{"startup_time": start, "last_reload_time": start},
	}
	if only == "" {
		return all
	}
	out := map[string]any{}
	for _, k := range strings.Split(only, ",") {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

// ---- /applications ----

func (s *Server) routeApplications(w http.ResponseWriter, r *http.Request, seg []string) int {
	if r.Method != http.MethodGet {
		return writeError(w, http.StatusNotFound, "Resource not found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	apps := s.appNamesLocked()
	if len(seg) == 0 {
		list := make([]applicationJSON, 0, len(apps))
		for _, a := range apps {
			list = append(list, s.applicationLocked(a))
		}
		return writeJSON(w, http.StatusOK, list)
	}
	for _, a := range apps {
		if a == seg[0] {
			return writeJSON(w, http.StatusOK, s.applicationLocked(a))
		}
	}
	return writeError(w, http.StatusNotFound, "Application not found")
}

func (s *Server) appNamesLocked() []string {
	set := map[string]bool{}
	for sub := range s.subs {
		set[sub.app] = true
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func (s *Server) appConnectedLocked(app string) bool {
	for sub := range s.subs {
		if sub.app == app {
			return true
		}
	}
	return false
}

func (s *Server) applicationLocked(app string) applicationJSON {
	a := applicationJSON{Name: app, ChannelIDs: []string{}, BridgeIDs: []string{}, EndpointIDs: []string{},
		DeviceNames: []string{}, EventsAllowed: []any{}, EventsDisallowed: []any{}}
	for _, id := range s.chanOrder {
		if c := s.channels[id]; c != nil && c.app == app && c.inStasis {
			a.ChannelIDs = append(a.ChannelIDs, id)
		}
	}
	for _, id := range s.bridgeOrd {
		if b := s.bridges[id]; b != nil && b.app == app {
			a.BridgeIDs = append(a.BridgeIDs, id)
		}
	}
	return a
}

// ---- /events websocket ----

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

type subscriber struct {
	app  string
	conn *websocket.Conn
	mu   sync.Mutex
	cond *sync.Cond
	q    [][]byte
	done bool
}

func (sub *subscriber) push(b []byte) {
	sub.mu.Lock()
	if !sub.done {
		sub.q = append(sub.q, b)
		sub.cond.Signal()
	}
	sub.mu.Unlock()
}

func (sub *subscriber) close() {
	sub.mu.Lock()
	sub.done = true
	sub.cond.Signal()
	sub.mu.Unlock()
	_ = sub.conn.Close()
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) int {
	app := r.URL.Query().Get("app")
	if app == "" {
		return writeError(w, http.StatusBadRequest, "Missing parameter app")
	}
	s.mu.Lock()
	refused := false
	for _, a := range s.faults.RefuseApps {
		if a == app {
			refused = true
		}
	}
	s.mu.Unlock()
	if refused {
		return writeError(w, http.StatusBadRequest, "Invalid application provided in param [app]")
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return http.StatusBadRequest
	}
	sub := &subscriber{app: app, conn: conn}
	sub.cond = sync.NewCond(&sub.mu)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.Close()
		return http.StatusSwitchingProtocols
	}
	s.subs[sub] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	go s.writeLoop(sub)
	go s.readLoop(sub)
	return http.StatusSwitchingProtocols
}

func (s *Server) writeLoop(sub *subscriber) {
	defer s.wg.Done()
	for {
		sub.mu.Lock()
		for len(sub.q) == 0 && !sub.done {
			sub.cond.Wait()
		}
		if sub.done {
			sub.mu.Unlock()
			return
		}
		batch := sub.q
		sub.q = nil
		sub.mu.Unlock()
		for _, b := range batch {
			if err := sub.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				sub.close()
				return
			}
		}
	}
}

func (s *Server) readLoop(sub *subscriber) {
	defer s.wg.Done()
	for {
		if _, _, err := sub.conn.ReadMessage(); err != nil {
			break
		}
	}
	sub.close()
	s.mu.Lock()
	delete(s.subs, sub)
	s.mu.Unlock()
}

// emitLocked sends an event to every websocket of app and records it.
func (s *Server) emitLocked(app string, typ string, e event) {
	e["type"] = typ
	if _, ok := e["timestamp"]; !ok {
		e["timestamp"] = formatTime(time.Now())
	}
	b := e.marshalFor(app, s.cfg.asteriskID)
	chID := ""
	if c, ok := e["channel"].(channelJSON); ok {
		chID = c.ID
	} else if c, ok := e["peer"].(channelJSON); ok {
		chID = c.ID
	}
	s.history = append(s.history, Event{Type: typ, ChannelID: chID, Raw: b})
	for sub := range s.subs {
		if sub.app == app {
			sub.push(b)
		}
	}
}
