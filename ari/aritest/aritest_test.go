package aritest

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAuthentication(t *testing.T) {
	srv := New(t, WithCredentials("crmphone", "pw"))
	get := func(url string, user, pass string) int {
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	base := srv.URL() + "/ari/asterisk/ping"
	tests := []struct {
		name, url, user, pass string
		want                  int
	}{
		{"no credentials", base, "", "", 401},
		{"wrong password", base, "crmphone", "nope", 401},
		{"basic auth", base, "crmphone", "pw", 200},
		{"api_key", base + "?api_key=crmphone:pw", "", "", 200},
		{"bad api_key", base + "?api_key=crmphone:x", "", "", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := get(tc.url, tc.user, tc.pass); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	srv.SetCredentials("crmphone", "changed")
	if got := get(base, "crmphone", "pw"); got != 401 {
		t.Fatalf("old password after SetCredentials: %d, want 401", got)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestAsteriskResources(t *testing.T) {
	srv := New(t)
	c := newTestClient(t, srv, "")
	info := c.mustDo("GET", "/ari/asterisk/info", 200)
	if info["system"].(map[string]any)["version"] != "22.10.1" {
		t.Fatalf("version: %v", info["system"])
	}
	only := c.mustDo("GET", "/ari/asterisk/info?only=status", 200)
	if _, ok := only["build"]; ok || only["status"] == nil {
		t.Fatalf("only=status: %v", only)
	}
	if m := c.mustDo("GET", "/ari/asterisk/modules/res_ari.so", 200); m["status"] != "Running" {
		t.Fatalf("module: %v", m)
	}
	srv.RemoveModule("chan_rtp.so")
	c.mustDo("GET", "/ari/asterisk/modules/chan_rtp.so", 404)
	_, body := c.do("GET", "/ari/asterisk/modules", nil)
	if strings.Contains(string(body), "chan_rtp.so") {
		t.Fatal("removed module still listed")
	}
	c.mustDo("GET", "/ari/applications/crmphone", 404)
}

func TestOutboundCallWithEarlyMediaAndAudio(t *testing.T) {
	srv := New(t, WithStasisStartDelay(30*time.Millisecond))
	srv.SetFarEnd("5551234", FarEnd{Ring: true, Progress: true, ProgressAfter: 100 * time.Millisecond,
		EarlyMedia: Tone{Frequency: 400}, AnswerAfter: 700 * time.Millisecond, Media: Tone{Frequency: 1000}})
	c := newTestClient(t, srv, "crmphone")
	listener := newRTPPeer(t)

	out := c.mustDo("POST", "/ari/channels/create?endpoint=PJSIP/5551234@trunk&app=crmphone&appArgs=out&channelId=out1", 200)
	if out["state"] != "Down" || out["dialplan"].(map[string]any)["app_name"] != "" {
		t.Fatalf("create response: %v", out)
	}
	c.mustDo("POST", "/ari/bridges?type=mixing&bridgeId=br1", 200)
	em := c.mustDo("POST", "/ari/channels/externalMedia?app=crmphone&external_host="+listener.addr()+"&format=ulaw&channelId=em1", 200)
	vars := em["channelvars"].(map[string]any)
	emAddr := vars["UNICASTRTP_LOCAL_ADDRESS"].(string) + ":" + vars["UNICASTRTP_LOCAL_PORT"].(string)
	// Before StasisStart the channel cannot be bridged (README h3 race).
	c.mustDo("POST", "/ari/bridges/br1/addChannel?channel=out1,em1", 422)
	c.waitEvent("StasisStart", "out1")
	c.waitEvent("StasisStart", "em1")
	c.mustDo("POST", "/ari/bridges/br1/addChannel?channel=out1,em1", 204)
	c.mustDo("POST", "/ari/channels/out1/dial?timeout=30", 204)
	c.waitEvent("Dial", "out1")
	c.waitEvent("ChannelStateChange", "out1") // Ringing
	// Ringback while ringing, then the far end's 400 Hz early media after the 183.
	prog := c.waitEvent("Dial", "out1")
	for prog["dialstatus"] != "PROGRESS" {
		prog = c.waitEvent("Dial", "out1")
	}
	listener.reset()
	waitFor(t, func() bool { return listener.count() >= 15 })
	if f, _ := DominantFrequency(decodeAll(listener.packets(), DecodeULaw), 8000); math.Abs(f-400) > 10 {
		t.Fatalf("early media frequency %v, want 400", f)
	}
	c.waitEvent("ChannelStateChange", "out1") // Up
	time.Sleep(60 * time.Millisecond)
	listener.reset()
	waitFor(t, func() bool { return listener.count() >= 15 })
	pkts := listener.packets()
	if f, _ := DominantFrequency(decodeAll(pkts[2:], DecodeULaw), 8000); math.Abs(f-1000) > 10 {
		t.Fatalf("answered media frequency %v, want 1000", f)
	}
	for _, p := range pkts {
		if p.PayloadType != 0 || len(p.Payload) != 160 {
			t.Fatalf("packet PT %d len %d, want 0/160", p.PayloadType, len(p.Payload))
		}
	}
	if d := pkts[len(pkts)-1].Timestamp - pkts[len(pkts)-2].Timestamp; d != 160 {
		t.Fatalf("timestamp step %d, want 160", d)
	}
	// What we send into externalMedia reaches the far end's ears.
	peer := srv.Peer("out1")
	before := len(peer.Received())
	listener.sendTone(t, emAddr, 0, EncodeULaw, 700, 25)
	heard := peer.Received()[before:]
	if f, share := DominantFrequency(heard, 8000); math.Abs(f-700) > 10 || share < 0.3 {
		t.Fatalf("far end heard %v Hz (share %.2f), want 700", f, share)
	}

	c.mustDo("DELETE", "/ari/channels/out1", 204)
	c.waitEvent("ChannelDestroyed", "out1")
	c.mustDo("DELETE", "/ari/channels/em1", 204)
	c.waitEvent("ChannelDestroyed", "em1")
	c.mustDo("DELETE", "/ari/bridges/br1", 204)
	c.waitEvent("BridgeDestroyed", "")

	wantOut := []string{"ChannelDialplan", "StasisStart", "ChannelEnteredBridge", "Dial:", "ChannelStateChange:Ringing",
		"Dial:RINGING", "Dial:PROGRESS", "ChannelStateChange:Up", "Dial:ANSWER", "ChannelHangupRequest",
		"ChannelLeftBridge", "StasisEnd", "ChannelDestroyed"}
	if got := c.typesFor("out1"); !slices.Equal(got, wantOut) {
		t.Fatalf("out1 events\n got %s\nwant %s", fmtTypes(got), fmtTypes(wantOut))
	}
	wantEM := []string{"Dial:", "ChannelStateChange:Up", "Dial:ANSWER", "StasisStart", "ChannelEnteredBridge",
		"ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd", "ChannelDestroyed"}
	if got := c.typesFor("em1"); !slices.Equal(got, wantEM) {
		t.Fatalf("em1 events\n got %s\nwant %s", fmtTypes(got), fmtTypes(wantEM))
	}
	if len(srv.Channels()) != 0 || len(srv.Bridges()) != 0 {
		t.Fatalf("left over: %v %v", srv.Channels(), srv.Bridges())
	}
}

func TestBusyAndNoAnswer(t *testing.T) {
	srv := New(t)
	srv.SetFarEnd("busyline", FarEnd{Outcome: Busy, AnswerAfter: 50 * time.Millisecond})
	srv.SetFarEnd("nobody", FarEnd{Ring: true, Outcome: NoAnswer})
	c := newTestClient(t, srv, "crmphone")
	listener := newRTPPeer(t)

	tests := []struct {
		name, endpoint, dial string
		want                 []string
		cause                float64
	}{
		{"busy", "PJSIP/busyline", "/dial?timeout=30", []string{"ChannelDialplan", "StasisStart",
			"ChannelEnteredBridge", "Dial:", "ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd",
			"ChannelDestroyed"}, 17},
		{"no answer", "PJSIP/nobody", "/dial?timeout=1", []string{"ChannelDialplan", "StasisStart",
			"ChannelEnteredBridge", "Dial:", "ChannelStateChange:Ringing", "Dial:RINGING", "ChannelHangupRequest",
			"ChannelLeftBridge", "StasisEnd", "ChannelDestroyed"}, 19},
		{"selftest busy", "Local/9904@crmphone-selftest", "/dial", []string{"ChannelDialplan", "StasisStart",
			"ChannelEnteredBridge", "Dial:", "ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd",
			"ChannelDestroyed"}, 17},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "call" + string(rune('a'+i))
			em := "em" + string(rune('a'+i))
			br := "br" + string(rune('a'+i))
			c.mustDo("POST", "/ari/channels/create?app=crmphone&channelId="+id+"&endpoint="+tc.endpoint, 200)
			c.waitEvent("StasisStart", id)
			c.mustDo("POST", "/ari/channels/externalMedia?app=crmphone&format=ulaw&channelId="+em+"&external_host="+listener.addr(), 200)
			c.waitEvent("StasisStart", em)
			c.mustDo("POST", "/ari/bridges/"+br, 200)
			c.mustDo("POST", "/ari/bridges/"+br+"/addChannel?channel="+id+","+em, 204)
			c.mustDo("POST", "/ari/channels/"+id+tc.dial, 204)
			d := c.waitEvent("ChannelDestroyed", id)
			if d["cause"] != tc.cause {
				t.Fatalf("cause %v, want %v", d["cause"], tc.cause)
			}
			if got := c.typesFor(id); !slices.Equal(got, tc.want) {
				t.Fatalf("events\n got %s\nwant %s", fmtTypes(got), fmtTypes(tc.want))
			}
			c.mustDo("GET", "/ari/channels/"+id, 404)
			b := c.mustDo("GET", "/ari/bridges/"+br, 200)
			if chs := b["channels"].([]any); len(chs) != 1 || chs[0] != em {
				t.Fatalf("bridge keeps %v, want [%s]", chs, em)
			}
			c.mustDo("DELETE", "/ari/channels/"+em, 204)
			c.mustDo("DELETE", "/ari/bridges/"+br, 204)
		})
	}
	if len(srv.Channels()) != 0 || len(srv.Bridges()) != 0 {
		t.Fatalf("left over: %v %v", srv.Channels(), srv.Bridges())
	}
}

func TestRingbackContinuesAfterNoAnswerUntilRingDeleted(t *testing.T) {
	srv := New(t)
	srv.SetFarEnd("nobody", FarEnd{Ring: true, Outcome: NoAnswer})
	c := newTestClient(t, srv, "crmphone")
	listener := newRTPPeer(t)
	c.mustDo("POST", "/ari/channels/create?app=crmphone&channelId=o&endpoint=PJSIP/nobody", 200)
	c.mustDo("POST", "/ari/channels/externalMedia?app=crmphone&format=alaw&channelId=e&external_host="+listener.addr(), 200)
	c.waitEvent("StasisStart", "o")
	c.waitEvent("StasisStart", "e")
	c.mustDo("POST", "/ari/bridges/b", 200)
	c.mustDo("POST", "/ari/bridges/b/addChannel?channel=o,e", 204)
	c.mustDo("POST", "/ari/channels/o/dial?timeout=1", 204)
	c.waitEvent("ChannelDestroyed", "o")
	listener.reset()
	waitFor(t, func() bool { return listener.count() >= 10 })
	pkts := listener.packets()
	if pkts[0].PayloadType != 8 {
		t.Fatalf("PT %d, want 8", pkts[0].PayloadType)
	}
	samples := decodeAll(pkts, DecodeALaw)
	if f, _ := DominantFrequency(samples, 8000); f != 440 && f != 480 {
		t.Fatalf("ringback frequency %v, want 440 or 480", f)
	}
	c.mustDo("DELETE", "/ari/channels/e/ring", 204)
	time.Sleep(60 * time.Millisecond)
	n := listener.count()
	time.Sleep(100 * time.Millisecond)
	if listener.count() != n {
		t.Fatalf("RTP still flowing after DELETE /ring: %d -> %d", n, listener.count())
	}
	c.mustDo("DELETE", "/ari/channels/e", 204)
	c.mustDo("DELETE", "/ari/bridges/b", 204)
}

func TestInboundCall(t *testing.T) {
	srv := New(t)
	c := newTestClient(t, srv, "crmphone")
	peer, err := srv.InjectInbound(context.Background(), InboundCall{ChannelID: "in1", CallerNumber: "+3312345",
		CallerName: "Alice", Exten: "200", Args: []string{"inbound", "sales"}, FarEnd: FarEnd{Media: Tone{Frequency: 600}}})
	if err != nil {
		t.Fatal(err)
	}
	st := c.waitEvent("StasisStart", "in1")
	ch := st["channel"].(map[string]any)
	if ch["state"] != "Ring" || ch["caller"].(map[string]any)["number"] != "+3312345" {
		t.Fatalf("StasisStart channel %v", ch)
	}
	if args, _ := json.Marshal(st["args"]); string(args) != `["inbound","sales"]` {
		t.Fatalf("args %s", args)
	}
	c.mustDo("POST", "/ari/channels/in1/answer", 204)
	c.waitEvent("ChannelStateChange", "in1")
	if err := peer.SendDTMF("5"); err != nil {
		t.Fatal(err)
	}
	if e := c.waitEvent("ChannelDtmfReceived", "in1"); e["digit"] != "5" {
		t.Fatalf("dtmf event %v", e)
	}
	c.mustDo("POST", "/ari/bridges/b", 200)
	c.mustDo("POST", "/ari/bridges/b/addChannel?channel=in1", 204)
	if err := peer.Hangup(); err != nil {
		t.Fatal(err)
	}
	c.waitEvent("StasisEnd", "in1")
	c.mustDo("DELETE", "/ari/bridges/b", 204)
	c.waitEvent("BridgeDestroyed", "")
	want := []string{"StasisStart", "ChannelStateChange:Up", "ChannelDtmfReceived", "ChannelEnteredBridge",
		"ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd"}
	if got := c.typesFor("in1"); !slices.Equal(got, want) {
		t.Fatalf("events\n got %s\nwant %s", fmtTypes(got), fmtTypes(want))
	}
	if !errorsIsHungUp(peer.Hangup()) {
		t.Fatal("second hangup should fail with ErrHungUp")
	}
}

func errorsIsHungUp(err error) bool { return err == ErrHungUp }

func TestExternalMediaValidationAndOfflineApp(t *testing.T) {
	srv := New(t)
	c := newTestClient(t, srv, "crmphone")
	tests := []struct {
		query  string
		status int
		msg    string
	}{
		{"app=crmphone&external_host=127.0.0.1:40000&format=nosuchformat", 500, "An internal error prevented this request from being handled"},
		{"app=crmphone&external_host=127.0.0.1&format=ulaw", 400, "external_host must be <host>:<port> for all transports other than websocket"},
		{"app=crmphone&transport=udp&connection_type=server&format=ulaw", 400, "'server' connection_type can only be used with the websocket transport"},
	}
	for _, tc := range tests {
		st, body := c.do("POST", "/ari/channels/externalMedia?"+tc.query, nil)
		var e errorJSON
		_ = json.Unmarshal(body, &e)
		if st != tc.status || e.Message != tc.msg {
			t.Errorf("%s: %d %q, want %d %q", tc.query, st, e.Message, tc.status, tc.msg)
		}
	}
	c.mustDo("POST", "/ari/channels/externalMedia?app=crmoffline&external_host=127.0.0.1:40000&format=ulaw&channelId=off", 200)
	c.mustDo("GET", "/ari/channels/off", 404)
	// slin16 is accepted; what the peer sends with PT 118 is dropped.
	c.mustDo("POST", "/ari/channels/externalMedia?app=crmphone&external_host=127.0.0.1:40000&format=slin16&channelId=s16", 200)
	c.waitEvent("StasisStart", "s16")
	c.mustDo("DELETE", "/ari/channels/s16", 204)
	c.waitEvent("ChannelDestroyed", "s16")
}

func TestSnoopErrors(t *testing.T) {
	srv := New(t)
	c := newTestClient(t, srv, "crmphone")
	c.mustDo("POST", "/ari/channels/create?app=crmphone&channelId=t&endpoint=PJSIP/x", 200)
	c.waitEvent("StasisStart", "t")
	for q, want := range map[string]string{
		"spy=sideways&app=crmphone":          "Invalid direction specified for spy",
		"spy=none&whisper=none&app=crmphone": "Direction must be specified for at least spy or whisper",
	} {
		st, body := c.do("POST", "/ari/channels/t/snoop?"+q, nil)
		if st != 400 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %s", q, st, body)
		}
	}
	st, body := c.do("POST", "/ari/channels/nope/snoop?spy=both&app=crmphone", nil)
	if st != 404 || !strings.Contains(string(body), "Provided channel was not found") {
		t.Errorf("unknown channel: %d %s", st, body)
	}
	sn := c.mustDo("POST", "/ari/channels/t/snoop?spy=both&app=crmphone&snoopId=sn&appArgs=snoop,both", 200)
	if sn["state"] != "Up" {
		t.Fatalf("snoop state %v", sn["state"])
	}
	c.waitEvent("StasisStart", "sn")
	c.mustDo("DELETE", "/ari/channels/t", 204)
	c.waitEvent("StasisEnd", "sn")
	if len(srv.Channels()) != 0 {
		t.Fatalf("left over %v", srv.Channels())
	}
}

func TestDynamicConfig(t *testing.T) {
	srv := New(t, WithStaticEndpoints("sipp-uas"))
	c := newTestClient(t, srv, "")
	put := func(path string, fields map[string]string) (int, []byte) {
		var body struct {
			Fields []attr `json:"fields"`
		}
		for k, v := range fields {
			body.Fields = append(body.Fields, attr{k, v})
		}
		return c.do("PUT", "/ari/asterisk/config/dynamic/"+path, body)
	}
	st, b := put("res_pjsip/auth/crmauth", map[string]string{"auth_type": "userpass", "username": "1001", "password": "x"})
	var attrs []attr
	if err := json.Unmarshal(b, &attrs); st != 200 || err != nil || len(attrs) != 12 || attrValue(attrs, "username") != "1001" {
		t.Fatalf("auth PUT: %d %s", st, b)
	}
	st, b = put("res_pjsip/registration/reg", map[string]string{"server_uri": "sip:a", "client_uri": "sip:b@a"})
	_ = json.Unmarshal(b, &attrs)
	if st != 200 || attrValue(attrs, "max_random_initial_delay") != "10" || attrValue(attrs, "max_retries") != "10" {
		t.Fatalf("registration PUT: %d %s", st, b)
	}
	st, b = put("res_pjsip/endpoint/trunk", map[string]string{"allow": "ulaw,alaw", "disallow": "all", "context": "crmphone-inbound"})
	_ = json.Unmarshal(b, &attrs)
	if st != 200 || attrValue(attrs, "allow") != "(ulaw|alaw)" || len(attrs) != 138 {
		t.Fatalf("endpoint PUT: %d allow=%q n=%d", st, attrValue(attrs, "allow"), len(attrs))
	}
	cases := []struct {
		method, path string
		fields       map[string]string
		status       int
		msg          string
	}{
		{"PUT", "res_pjsip_outbound_registration/registration/r", map[string]string{}, 404, "configClass 'res_pjsip_outbound_registration' not found"},
		{"PUT", "res_pjsip/nosuchtype/x", map[string]string{}, 404, "objectType 'nosuchtype' not found"},
		{"PUT", "res_pjsip/auth/bad", map[string]string{"nosuchattr": "x"}, 400, "Creation of object 'bad' failed field value validation"},
		{"PUT", "res_pjsip/registration/noc", map[string]string{"server_uri": "sip:a"}, 400, "Creation of object 'noc' failed field value validation"},
		{"PUT", "res_pjsip/endpoint/sipp-uas", map[string]string{"context": "x"}, 403, "Cannot update sorcery objects of type 'endpoint'"},
		{"DELETE", "res_pjsip/endpoint/sipp-uas", nil, 403, "Could not delete object with id 'sipp-uas'"},
		{"DELETE", "res_pjsip/registration/reg", nil, 204, ""},
		{"DELETE", "res_pjsip/registration/reg", nil, 404, "Object with id 'reg' not found"},
		{"GET", "res_pjsip/registration/noc", nil, 404, "Object with id 'noc' not found"},
	}
	for _, tc := range cases {
		var st int
		var b []byte
		if tc.method == "PUT" {
			st, b = put(tc.path, tc.fields)
		} else {
			st, b = c.do(tc.method, "/ari/asterisk/config/dynamic/"+tc.path, nil)
		}
		var e errorJSON
		_ = json.Unmarshal(b, &e)
		if st != tc.status || e.Message != tc.msg {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, st, e.Message, tc.status, tc.msg)
		}
	}
	srv.SetFaults(Faults{DynamicConfigForbidden: true})
	if st, b := put("res_pjsip/auth/other", map[string]string{"username": "u"}); st != 403 ||
		!strings.Contains(string(b), "Cannot create sorcery objects of type 'auth'") {
		t.Fatalf("forbidden fault: %d %s", st, b)
	}
	eps := c.mustDo("GET", "/ari/endpoints/PJSIP/sipp-uas", 200)
	if eps["state"] != "online" {
		t.Fatalf("endpoint %v", eps)
	}
}

func TestRecordingNames(t *testing.T) {
	srv := New(t)
	c := newTestClient(t, srv, "crmphone")
	c.mustDo("POST", "/ari/bridges/rb", 200)
	c.mustDo("POST", "/ari/channels/create?endpoint=PJSIP/x&app=crmphone&channelId=rc", 200)
	c.waitEvent("StasisStart", "rc")
	c.mustDo("POST", "/ari/bridges/rb/addChannel?channel=rc", 204)
	r := c.mustDo("POST", "/ari/bridges/rb/record?name=crm%2Frec1&format=wav", 201)
	if r["state"] != "queued" || r["target_uri"] != "bridge:rb" {
		t.Fatalf("record: %v", r)
	}
	c.waitEvent("RecordingStarted", "")
	if l := c.mustDo("GET", "/ari/recordings/live/crm%2Frec1", 200); l["name"] != "crm/rec1" {
		t.Fatalf("live: %v", l)
	}
	time.Sleep(100 * time.Millisecond)
	c.mustDo("POST", "/ari/recordings/live/crm%2Frec1/stop", 204)
	c.waitEvent("RecordingFinished", "")
	st, body := c.do("GET", "/ari/recordings/stored/crm%2Frec1/file", nil)
	if st != 200 || string(body[:4]) != "RIFF" {
		t.Fatalf("file: %d", st)
	}
	st, body = c.do("GET", "/ari/recordings/stored/crm/rec1/file", nil)
	if st != 404 || !strings.Contains(string(body), "Resource not found") {
		t.Fatalf("raw slash: %d %s", st, body)
	}
	c.mustDo("DELETE", "/ari/recordings/stored/crm%2Frec1", 204)
	c.mustDo("DELETE", "/ari/channels/rc", 204)
	c.mustDo("DELETE", "/ari/bridges/rb", 204)
}

func TestG711RoundTrip(t *testing.T) {
	for _, v := range []int16{0, 1, -1, 100, -100, 1000, -1000, 8000, -8000, 32767, -32768} {
		for name, f := range map[string]struct {
			enc func(int16) byte
			dec func(byte) int16
		}{"ulaw": {EncodeULaw, DecodeULaw}, "alaw": {EncodeALaw, DecodeALaw}} {
			got := f.dec(f.enc(v))
			// G.711 keeps about 4 significant bits: the error stays under 1/16 of the value (+ a small floor).
			if diff := math.Abs(float64(got) - float64(v)); diff > math.Abs(float64(v))/16+16 {
				t.Errorf("%s(%d) -> %d", name, v, got)
			}
		}
	}
	// Well-known code points.
	if EncodeULaw(0) != 0xFF || EncodeALaw(0) != 0xD5 {
		t.Fatalf("silence codes: ulaw %#x alaw %#x", EncodeULaw(0), EncodeALaw(0))
	}
}

func TestDominantFrequency(t *testing.T) {
	for _, f := range []float64{400, 1000, 2500} {
		got, share := DominantFrequency(GenerateTone(f, 8000, 1600, 8000), 8000)
		if math.Abs(got-f) > 5 || share < 0.8 {
			t.Errorf("tone %v: got %v share %.2f", f, got, share)
		}
	}
	if _, share := DominantFrequency(make([]int16, 800), 8000); share != 0 {
		t.Errorf("silence share %v", share)
	}
}

func TestExternalMediaG722WithSelfTestEcho(t *testing.T) {
	srv := New(t)
	c := newTestClient(t, srv, "crmphone")
	listener := newRTPPeer(t)
	c.mustDo("POST", "/ari/channels?endpoint=Local/9901@crmphone-selftest&app=crmphone&channelId=echo", 200)
	c.waitEvent("StasisStart", "echo")
	em := c.mustDo("POST", "/ari/channels/externalMedia?app=crmphone&format=g722&channelId=g&external_host="+listener.addr(), 200)
	vars := em["channelvars"].(map[string]any)
	emAddr := vars["UNICASTRTP_LOCAL_ADDRESS"].(string) + ":" + vars["UNICASTRTP_LOCAL_PORT"].(string)
	c.waitEvent("StasisStart", "g")
	c.mustDo("POST", "/ari/bridges/b", 200)
	c.mustDo("POST", "/ari/bridges/b/addChannel?channel=echo,g", 204)
	// Send 1 s of a 700 Hz tone as G.722 (16 kHz audio, 160 bytes per 20 ms) and read the echo.
	dst := emAddr
	enc := NewG722Encoder()
	g := newToneGen(700, 8000)
	g.rate = 16000
	frames := make([][]byte, 50)
	for i := range frames {
		frames[i] = enc.Encode(g.next(320))
	}
	i := 0
	listener.sendFrames(t, dst, 9, func() []byte { f := frames[i]; i++; return f }, len(frames))
	waitFor(t, func() bool { return listener.count() >= 30 })
	pkts := listener.packets()
	dec := NewG722Decoder()
	var pcm []int16
	for _, p := range pkts {
		if p.PayloadType != 9 || len(p.Payload) != 160 {
			t.Fatalf("packet PT %d len %d, want 9/160", p.PayloadType, len(p.Payload))
		}
		pcm = append(pcm, dec.Decode(p.Payload)...)
	}
	// 8 kHz RTP clock: 160 per 20 ms frame. A frame the echo did not produce in
	// time is simply not sent (as Asterisk does), so steps are whole frames.
	minStep := ^uint32(0)
	for k := 1; k < len(pkts); k++ {
		d := pkts[k].Timestamp - pkts[k-1].Timestamp
		if d == 0 || d%160 != 0 {
			t.Fatalf("timestamp step %d, want a multiple of 160 (8 kHz RTP clock)", d)
		}
		minStep = min(minStep, d)
	}
	if minStep != 160 {
		t.Fatalf("smallest timestamp step %d, want 160", minStep)
	}
	if f, share := DominantFrequency(pcm[len(pcm)/4:], 16000); math.Abs(f-700) > 10 || share < 0.5 {
		t.Fatalf("echoed %v Hz (share %.2f), want 700", f, share)
	}
	c.mustDo("DELETE", "/ari/channels/echo", 204)
	c.mustDo("DELETE", "/ari/channels/g", 204)
	c.mustDo("DELETE", "/ari/bridges/b", 204)
}

func TestFaultsRefusedAppAndSilentRTP(t *testing.T) {
	srv := New(t)
	srv.SetFaults(Faults{RefuseApps: []string{"crmphone"}})
	u := strings.Replace(srv.URL(), "http://", "ws://", 1) + "/ari/events?app=crmphone&api_key=" +
		srv.Username() + ":" + srv.Password()
	if _, resp, err := websocketDial(u); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("refused app: err %v resp %v", err, resp)
	}
	srv.SetFaults(Faults{RTPSilent: true})
	c := newTestClient(t, srv, "crmphone")
	listener := newRTPPeer(t)
	c.mustDo("POST", "/ari/channels?endpoint=Local/tone@crmphone-selftest&app=crmphone&channelId=tone", 200)
	c.waitEvent("StasisStart", "tone")
	c.mustDo("POST", "/ari/channels/externalMedia?app=crmphone&format=ulaw&channelId=e&external_host="+listener.addr(), 200)
	c.waitEvent("StasisStart", "e")
	c.mustDo("POST", "/ari/bridges/b", 200)
	c.mustDo("POST", "/ari/bridges/b/addChannel?channel=tone,e", 204)
	time.Sleep(200 * time.Millisecond)
	if n := listener.count(); n != 0 {
		t.Fatalf("RTP sent while RTPSilent: %d packets", n)
	}
	srv.SetFaults(Faults{})
	waitFor(t, func() bool { return listener.count() >= 5 })
	c.mustDo("DELETE", "/ari/bridges/b", 204)
	c.mustDo("DELETE", "/ari/channels/tone", 204)
	c.mustDo("DELETE", "/ari/channels/e", 204)
}

// BenchmarkExternalMediaCreateDelete measures POST /channels/externalMedia + DELETE pairs, the
// figure transcript h measured on a real Asterisk (940 pairs/s with one worker).
func BenchmarkExternalMediaCreateDelete(b *testing.B) {
	srv := New(b, WithStasisStartDelay(0))
	c := newTestClient(b, srv, "crmphone")
	go func() {
		for range c.events { // drain
		}
	}()
	i := 0
	for b.Loop() {
		i++
		id := "bem" + strconv.Itoa(i)
		if st, _ := c.do("POST", "/ari/channels/externalMedia?app=crmphone&format=ulaw&external_host=127.0.0.1:9&channelId="+id, nil); st != 200 {
			b.Fatalf("create: %d", st)
		}
		if st, _ := c.do("DELETE", "/ari/channels/"+id, nil); st != 204 {
			b.Fatalf("delete: %d", st)
		}
	}
}
