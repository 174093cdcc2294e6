// Package doctor checks that an Asterisk is ready for crmphone: ARI
// reachable with the configured credentials, a supported version, the
// modules loaded, the Stasis application registering, externalMedia RTP
// flowing through a bridge, and dynamic PJSIP configuration writable. Each
// check says what to fix when it fails.
package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/crmphone/crmphone/ari"
)

// Result is one check's outcome.
type Result struct {
	Name   string
	OK     bool
	Detail string // what was found
	Fix    string // what to do, when !OK
}

// Options configure the checks.
type Options struct {
	// ToneEndpoint is dialled and bridged with an externalMedia channel to see
	// RTP flow; asterisk-conf's self-test tone extension by default.
	ToneEndpoint string
	// RTPBindIP is where the test RTP socket listens (media.rtp_bind_ip).
	RTPBindIP string
	// Timeout bounds each check (default 5s).
	Timeout time.Duration
}

// RequiredModules must be loaded for crmphone to work.
var RequiredModules = []string{
	"res_ari.so", "res_ari_asterisk.so", "res_ari_channels.so", "res_ari_bridges.so", "res_ari_recordings.so",
	"res_ari_applications.so", "res_ari_endpoints.so", "res_stasis.so", "res_stasis_recording.so",
	"res_stasis_playback.so", "res_http_websocket.so", "chan_rtp.so", "app_mixmonitor.so", "res_pjsip.so",
	"res_pjsip_outbound_registration.so", "res_sorcery_memory.so",
}

// MinMajorVersion is the oldest Asterisk major version supported.
const MinMajorVersion = 20

// Run runs every check in order; later checks are skipped (reported failed)
// when ARI itself is unreachable. client must not be running yet: Run starts
// its events websocket to register the Stasis application.
func Run(ctx context.Context, client *ari.Client, opts Options) []Result {
	if opts.ToneEndpoint == "" {
		opts.ToneEndpoint = "Local/tone@crmphone-selftest"
	}
	if opts.RTPBindIP == "" {
		opts.RTPBindIP = "127.0.0.1"
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	var results []Result
	add := func(r Result) { results = append(results, r) }

	info, err := withTimeout(ctx, opts.Timeout, func(ctx context.Context) (*ari.AsteriskInfo, error) {
		return client.Info(ctx)
	})
	add(checkReachable(err))
	if err != nil {
		return results
	}
	add(checkVersion(info))
	add(checkModules(ctx, client, opts.Timeout))

	runCtx, stop := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() { defer close(runDone); client.Run(runCtx) }()
	defer func() { stop(); <-runDone }()
	appOK := checkApplication(ctx, client, opts.Timeout)
	add(appOK)
	if appOK.OK {
		add(checkExternalMedia(ctx, client, opts))
	} else {
		add(Result{Name: "externalMedia RTP", Detail: "skipped: the Stasis application is not registered",
			Fix: "fix the application check first"})
	}
	add(checkDynamicConfig(ctx, client, opts.Timeout))
	return results
}

func withTimeout[T any](ctx context.Context, d time.Duration, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return f(ctx)
}

func checkReachable(err error) Result {
	r := Result{Name: "ARI reachable, credentials accepted"}
	switch {
	case err == nil:
		r.OK, r.Detail = true, "GET /ari/asterisk/info answered"
	case errors.Is(err, ari.ErrUnauthorized):
		r.Detail = "401 Unauthorized"
		r.Fix = "ari.username / ari.password (CRMPHONE_ARI_PASSWORD) must match the user in ari.conf (asterisk-conf/crmphone_ari.conf), then 'asterisk -rx \"module reload res_ari.so\"'"
	case errors.Is(err, ari.ErrNotFound):
		r.Detail = "404: no ARI at this URL"
		r.Fix = "enable ARI: load res_ari.so and set enabled=yes in ari.conf; ari.url is Asterisk's HTTP server without /ari"
	default:
		r.Detail = err.Error()
		r.Fix = "check ari.url and that Asterisk's HTTP server listens there (asterisk-conf/crmphone_http.conf: enabled=yes, bindaddr, bindport)"
	}
	return r
}

func checkVersion(info *ari.AsteriskInfo) Result {
	r := Result{Name: "Asterisk version supported"}
	v := ""
	if info.System != nil {
		v = info.System.Version
	}
	major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if major >= MinMajorVersion {
		r.OK, r.Detail = true, "Asterisk "+v
		return r
	}
	r.Detail = fmt.Sprintf("Asterisk %q", v)
	r.Fix = fmt.Sprintf("crmphone needs Asterisk %d or newer (20 and 22 LTS are tested)", MinMajorVersion)
	return r
}

func checkModules(ctx context.Context, client *ari.Client, timeout time.Duration) Result {
	r := Result{Name: "required modules loaded"}
	mods, err := withTimeout(ctx, timeout, func(ctx context.Context) ([]ari.Module, error) { return client.ListModules(ctx) })
	if err != nil {
		r.Detail, r.Fix = err.Error(), "the ARI user needs read access to /asterisk/modules"
		return r
	}
	running := map[string]bool{}
	for _, m := range mods {
		running[m.Name] = strings.EqualFold(m.Status, "Running")
	}
	var missing []string
	for _, want := range RequiredModules {
		if !running[want] {
			missing = append(missing, want)
		}
	}
	if len(missing) == 0 {
		r.OK, r.Detail = true, fmt.Sprintf("%d modules running", len(RequiredModules))
		return r
	}
	r.Detail = "not running: " + strings.Join(missing, ", ")
	r.Fix = "load them (asterisk-conf/crmphone_modules.conf lists them): asterisk -rx \"module load " + missing[0] + "\""
	return r
}

func checkApplication(ctx context.Context, client *ari.Client, timeout time.Duration) Result {
	r := Result{Name: "Stasis application " + client.Application() + " registers"}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if client.State().Connected {
			app, err := withTimeout(ctx, timeout, func(ctx context.Context) (*ari.Application, error) {
				return client.GetApplication(ctx, client.Application())
			})
			if err == nil && app.Name == client.Application() {
				r.OK, r.Detail = true, "events websocket connected, application listed"
				return r
			}
		}
		select {
		case <-ctx.Done():
			r.Detail = ctx.Err().Error()
			return r
		case <-time.After(50 * time.Millisecond):
		}
	}
	st := client.State()
	r.Detail = "events websocket not connected: " + st.LastError
	r.Fix = "the ARI user must be allowed to open /ari/events (read_only=no in ari.conf) and res_http_websocket.so must be loaded"
	return r
}

func randomSuffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func checkExternalMedia(ctx context.Context, client *ari.Client, opts Options) (res Result) {
	res = Result{Name: "externalMedia RTP through a bridge"}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(opts.RTPBindIP)})
	if err != nil {
		res.Detail, res.Fix = err.Error(), "media.rtp_bind_ip must be an address of this machine"
		return res
	}
	defer conn.Close()
	suffix := randomSuffix()
	emID, farID, bridgeID := "crm-doctor-m-"+suffix, "crm-doctor-f-"+suffix, "crm-doctor-b-"+suffix
	sub := client.Subscribe(0, emID, farID, bridgeID)
	defer sub.Close()
	cctx, cancel := context.WithTimeout(ctx, 4*opts.Timeout)
	defer cancel()
	defer func() { // everything the check created is destroyed, whatever happened
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.Timeout)
		defer cancel()
		client.Hangup(c, farID, "normal")
		client.Hangup(c, emID, "normal")
		client.DestroyBridge(c, bridgeID)
	}()
	em, err := client.ExternalMedia(cctx, ari.ExternalMediaParams{ChannelID: emID, ExternalHost: conn.LocalAddr().String(), Format: "ulaw"})
	if err != nil {
		res.Detail, res.Fix = "externalMedia: "+err.Error(), "load chan_rtp.so; the ARI user needs write access"
		return res
	}
	rtpAddr, err := em.LocalRTPAddr()
	if err != nil {
		res.Detail, res.Fix = err.Error(), "chan_rtp.so did not report its RTP address"
		return res
	}
	if _, _, err := ari.WaitStasisStart(cctx, sub, emID); err != nil {
		res.Detail, res.Fix = "externalMedia channel never entered Stasis: "+err.Error(), "check the Stasis application"
		return res
	}
	if _, err := client.CreateBridge(cctx, ari.CreateBridgeParams{Type: []string{"mixing"}, BridgeID: bridgeID}); err != nil {
		res.Detail, res.Fix = "create bridge: "+err.Error(), "the ARI user needs write access"
		return res
	}
	if _, err := client.CreateChannel(cctx, ari.CreateParams{Endpoint: opts.ToneEndpoint, ChannelID: farID, AppArgs: []string{"doctor"}, Formats: []string{"ulaw"}}); err != nil {
		res.Detail = "create " + opts.ToneEndpoint + ": " + err.Error()
		res.Fix = "include asterisk-conf/crmphone_extensions.conf (context crmphone-selftest) in extensions.conf and reload the dialplan"
		return res
	}
	if _, _, err := ari.WaitStasisStart(cctx, sub, farID); err != nil {
		res.Detail, res.Fix = "self-test channel never entered Stasis: "+err.Error(), "check the crmphone-selftest context"
		return res
	}
	if err := client.AddChannel(cctx, bridgeID, ari.AddChannelParams{Channels: []string{emID, farID}}); err != nil {
		res.Detail, res.Fix = "add to bridge: "+err.Error(), "the ARI user needs write access"
		return res
	}
	if err := client.Dial(cctx, farID, "", 10*time.Second); err != nil {
		res.Detail, res.Fix = "dial "+opts.ToneEndpoint+": "+err.Error(), "check the crmphone-selftest context"
		return res
	}
	// Send a little RTP too, so strict RTP learns us; then count what comes back.
	go sendSilence(cctx, conn, net.UDPAddrFromAddrPort(rtpAddr))
	conn.SetReadDeadline(time.Now().Add(opts.Timeout))
	buf := make([]byte, 1500)
	packets := 0
	for packets < 25 {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			res.Detail = fmt.Sprintf("%d RTP packets from Asterisk in %s", packets, opts.Timeout)
			res.Fix = fmt.Sprintf("nothing reached %s: if Asterisk runs on another machine set media.rtp_bind_ip to an address it can reach; check firewalls and chan_rtp.so", conn.LocalAddr())
			return res
		}
		if n > 12 && from == rtpAddr {
			packets++
		}
	}
	res.OK, res.Detail = true, fmt.Sprintf("%d RTP packets from %s to %s", packets, rtpAddr, conn.LocalAddr())
	return res
}

func sendSilence(ctx context.Context, conn *net.UDPConn, to *net.UDPAddr) {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[8] = 0x80, 0x42
	for i := range pkt[12:] {
		pkt[12+i] = 0xff
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for seq := 0; ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		ts := uint32(seq * 160)
		pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		if _, err := conn.WriteToUDP(pkt, to); err != nil {
			return
		}
	}
}

func checkDynamicConfig(ctx context.Context, client *ari.Client, timeout time.Duration) Result {
	r := Result{Name: "dynamic PJSIP configuration writable"}
	id := "crmphone-doctor-" + randomSuffix()
	_, err := withTimeout(ctx, timeout, func(ctx context.Context) (ari.ConfigTuples, error) {
		return client.PutPJSIP(ctx, "auth", id, ari.ConfigTuples{
			{Attribute: "auth_type", Value: "userpass"}, {Attribute: "username", Value: "doctor"},
			{Attribute: "password", Value: randomSuffix() + randomSuffix()},
		})
	})
	if err != nil {
		r.Detail = "create res_pjsip auth: " + err.Error()
		if errors.Is(err, ari.ErrForbidden) {
			r.Fix = "add memory wizards for res_pjsip (asterisk-conf/crmphone_sorcery.conf) to sorcery.conf and restart Asterisk"
		} else {
			r.Fix = "load res_pjsip.so and res_sorcery_memory.so; the ARI user needs write access"
		}
		return r
	}
	if _, err := withTimeout(ctx, timeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, client.DeletePJSIP(ctx, "auth", id)
	}); err != nil {
		r.Detail, r.Fix = "created, but delete failed: "+err.Error(), "delete res_pjsip auth "+id+" by hand"
		return r
	}
	r.OK, r.Detail = true, "created and deleted res_pjsip auth "+id
	return r
}

// Failed reports whether any result failed.
func Failed(results []Result) bool {
	for _, r := range results {
		if !r.OK {
			return true
		}
	}
	return false
}
