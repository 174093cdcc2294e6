package webrtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/pion/ice/v4"
	pionwebrtc "github.com/pion/webrtc/v4"
)

// ICEServer is a STUN/TURN server handed to the browser. The server side needs none: it is reachable at
// its own (or NAT 1:1) address on the media port.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// LogValue keeps the credential out of logs.
func (s ICEServer) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("urls", s.URLs), slog.Bool("has_credential", s.Credential != ""))
}

// String keeps the credential out of formatted output.
func (s ICEServer) String() string {
	return fmt.Sprintf("ICEServer{URLs:%v Username:%q Credential:[redacted]}", s.URLs, s.Username)
}

// Config configures the media engine.
type Config struct {
	// UDPPort is the single UDP port every session's ICE/DTLS/SRTP traffic uses (ICE UDP mux);
	// 0 picks a free port (tests).
	UDPPort int
	// ListenIP binds the media port to one address. Empty listens on every interface (one socket per
	// address, same port).
	ListenIP string
	// NAT1To1IPs are the public addresses announced instead of the local ones (1:1 NAT, e.g. a cloud VM).
	NAT1To1IPs []string
	// ICELite makes the server an ICE-lite agent (it never sends connectivity checks itself); only for a
	// server with a public address.
	ICELite bool
	// ICEServers are handed to the browser by ICEServersForBrowser; the engine does not use them.
	ICEServers []ICEServer
	// RTPBindIP is where the relay sockets towards Asterisk are opened; default 127.0.0.1.
	RTPBindIP string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Engine owns the shared UDP port and creates sessions. One per process.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	mux      ice.UDPMux
	settings pionwebrtc.SettingEngine
	rtpBind  net.IP

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closed   bool
}

// ErrEngineClosed is returned by NewSession after Close.
var ErrEngineClosed = errors.New("webrtc: engine closed")

// NewEngine opens the media port and prepares the pion settings shared by all sessions.
func NewEngine(cfg Config) (*Engine, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	rtpBind := net.IPv4(127, 0, 0, 1)
	if cfg.RTPBindIP != "" {
		if rtpBind = net.ParseIP(cfg.RTPBindIP); rtpBind == nil {
			return nil, fmt.Errorf("webrtc: invalid RTPBindIP %q", cfg.RTPBindIP)
		}
	}

	var (
		mux             ice.UDPMux
		includeLoopback bool
	)
	if cfg.ListenIP == "" {
		m, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort)
		if err != nil {
			return nil, fmt.Errorf("webrtc: listen on UDP port %d: %w", cfg.UDPPort, err)
		}
		mux = m
	} else {
		ip := net.ParseIP(cfg.ListenIP)
		if ip == nil {
			return nil, fmt.Errorf("webrtc: invalid ListenIP %q", cfg.ListenIP)
		}
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: cfg.UDPPort})
		if err != nil {
			return nil, fmt.Errorf("webrtc: listen on %s: %w", net.JoinHostPort(cfg.ListenIP, strconv.Itoa(cfg.UDPPort)), err)
		}
		mux = pionwebrtc.NewICEUDPMux(nil, conn)
		includeLoopback = ip.IsLoopback()
	}

	var se pionwebrtc.SettingEngine
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes([]pionwebrtc.NetworkType{pionwebrtc.NetworkTypeUDP4, pionwebrtc.NetworkTypeUDP6})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(includeLoopback)
	se.SetLite(cfg.ICELite)
	if len(cfg.NAT1To1IPs) > 0 {
		err := se.SetICEAddressRewriteRules(pionwebrtc.ICEAddressRewriteRule{
			External:        append([]string(nil), cfg.NAT1To1IPs...),
			AsCandidateType: pionwebrtc.ICECandidateTypeHost,
			Mode:            pionwebrtc.ICEAddressRewriteReplace,
		})
		if err != nil {
			_ = mux.Close()
			return nil, fmt.Errorf("webrtc: NAT1To1IPs: %w", err)
		}
	}

	e := &Engine{cfg: cfg, log: log, mux: mux, settings: se, rtpBind: rtpBind, sessions: map[*Session]struct{}{}}
	log.Info("webrtc engine started", "media_addresses", e.MediaAddrs(), "ice_lite", cfg.ICELite, "nat_1to1", cfg.NAT1To1IPs)
	return e, nil
}

// MediaAddrs returns the local addresses of the shared media port.
func (e *Engine) MediaAddrs() []net.Addr { return e.mux.GetListenAddresses() }

// ICEServersForBrowser returns the STUN/TURN servers to put into the browser's RTCPeerConnection config.
func (e *Engine) ICEServersForBrowser() []ICEServer {
	out := make([]ICEServer, len(e.cfg.ICEServers))
	for i, s := range e.cfg.ICEServers {
		out[i] = ICEServer{URLs: append([]string(nil), s.URLs...), Username: s.Username, Credential: s.Credential}
	}
	return out
}

// NewSession creates the media session of one operator login. Its PeerConnection is built by Answer.
func (e *Engine) NewSession(ctx context.Context, id string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrEngineClosed
	}
	s := newSession(e, id)
	e.sessions[s] = struct{}{}
	return s, nil
}

func (e *Engine) forget(s *Session) {
	e.mu.Lock()
	delete(e.sessions, s)
	e.mu.Unlock()
}

// Close closes every remaining session and the media port.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	sessions := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		sessions = append(sessions, s)
	}
	e.mu.Unlock()

	var errs []error
	for _, s := range sessions {
		errs = append(errs, s.Close())
	}
	errs = append(errs, e.mux.Close())
	return errors.Join(errs...)
}
