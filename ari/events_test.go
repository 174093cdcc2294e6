package ari

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestDecodeAllTranscriptEvents decodes every ari_event line recorded from Asterisk 22.10.1.
func TestDecodeAllTranscriptEvents(t *testing.T) {
	total, typed := 0, 0
	perType := map[string]int{}
	for _, name := range transcriptNames(t) {
		for _, l := range loadTranscript(t, name) {
			if l.Kind != "ari_event" {
				continue
			}
			total++
			ev, err := DecodeEvent(l.Event)
			if err != nil {
				t.Errorf("%s seq %d: %v", name, l.Seq, err)
				continue
			}
			var head struct {
				Type        string `json:"type"`
				Application string `json:"application"`
			}
			if err := json.Unmarshal(l.Event, &head); err != nil {
				t.Fatal(err)
			}
			if ev.Type() != head.Type || ev.Base().Application != head.Application {
				t.Errorf("%s seq %d: decoded type/app %q/%q, want %q/%q", name, l.Seq, ev.Type(), ev.Base().Application, head.Type, head.Application)
			}
			if ev.Base().Timestamp.IsZero() || ev.Base().Timestamp.Year() < 2026 {
				t.Errorf("%s seq %d: timestamp not decoded: %v", name, l.Seq, ev.Base().Timestamp)
			}
			if _, raw := ev.(*RawEvent); !raw {
				typed++
			}
			perType[ev.Type()]++
			if len(ev.ChannelIDs())+len(ev.BridgeIDs()) == 0 && !noRoutingKey(ev) {
				t.Errorf("%s seq %d: %s has no routing key", name, l.Seq, ev.Type())
			}
		}
	}
	if total == 0 {
		t.Fatal("no ari_event lines found")
	}
	t.Logf("decoded %d events (%d typed) of %d types: %v", total, typed, len(perType), perType)
	if typed != total {
		t.Errorf("%d of %d transcript events decoded as RawEvent; every recorded type should be typed", total-typed, total)
	}
}

// noRoutingKey lists event types that legitimately concern no channel or bridge.
func noRoutingKey(ev Event) bool {
	switch ev.(type) {
	case *PeerStatusChange, *DeviceStateChanged, *EndpointStateChange, *ApplicationReplaced:
		return true
	}
	return false
}

func TestDecodeEventFields(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		check func(t *testing.T, ev Event)
	}{
		{
			name: "StasisStart",
			json: stasisStartJSON,
			check: func(t *testing.T, ev Event) {
				e := ev.(*StasisStart)
				if e.Channel.ID != "g1a-out" || !slices.Equal(e.Args, []string{"out"}) || e.Channel.State != "Down" {
					t.Errorf("got %+v", e)
				}
				want := time.Date(2026, 11, 23, 19, 34, 21, 987_000_000, time.UTC)
				if !e.Timestamp.Equal(want) {
					t.Errorf("timestamp %v, want %v", e.Timestamp, want)
				}
				if e.Channel.Dialplan.AppData != "crmphone,out" || e.Channel.Dialplan.Priority != 1 {
					t.Errorf("dialplan %+v", e.Channel.Dialplan)
				}
			},
		},
		{
			name: "ChannelEnteredBridge routes to channel and bridge",
			json: `{"type":"ChannelEnteredBridge","timestamp":"2026-11-23T19:11:15.556+0000","application":"crmphone","bridge":{"id":"br1","channels":["em1"]},"channel":{"id":"em1"}}`,
			check: func(t *testing.T, ev Event) {
				if got := routingKeys(ev); !slices.Equal(got, []string{"em1", "br1"}) {
					t.Errorf("keys %v", got)
				}
			},
		},
		{
			name: "Dial with caller and peer",
			json: `{"type":"Dial","timestamp":"2026-11-23T19:11:13.459+0000","application":"crmphone","dialstatus":"ANSWER","caller":{"id":"a"},"peer":{"id":"b"}}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*Dial)
				if e.Dialstatus != "ANSWER" || !slices.Equal(e.ChannelIDs(), []string{"b", "a"}) {
					t.Errorf("got %+v keys %v", e, e.ChannelIDs())
				}
			},
		},
		{
			name: "RecordingFinished routes by target_uri",
			json: `{"type":"RecordingFinished","timestamp":"2026-11-23T19:22:14.886+0000","application":"crmphone","recording":{"name":"crm/x","format":"wav","state":"done","target_uri":"bridge:br-e4","duration":5}}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*RecordingFinished)
				if e.Recording.Duration != 5 || !slices.Equal(e.BridgeIDs(), []string{"br-e4"}) || len(e.ChannelIDs()) != 0 {
					t.Errorf("got %+v", e)
				}
			},
		},
		{
			name: "PlaybackStarted on a channel",
			json: `{"type":"PlaybackStarted","timestamp":"2026-11-23T19:21:50.836+0000","application":"crmphone","playback":{"id":"pb","media_uri":"sound:hello-world","target_uri":"channel:em-e2","state":"playing"}}`,
			check: func(t *testing.T, ev Event) {
				if got := routingKeys(ev); !slices.Equal(got, []string{"em-e2"}) {
					t.Errorf("keys %v", got)
				}
			},
		},
		{
			name: "ChannelVarset global has no channel",
			json: `{"type":"ChannelVarset","timestamp":"2026-11-23T19:21:50.836+0000","application":"crmphone","variable":"G","value":"1"}`,
			check: func(t *testing.T, ev Event) {
				e := ev.(*ChannelVarset)
				if e.Channel != nil || len(routingKeys(e)) != 0 || e.Variable != "G" {
					t.Errorf("got %+v", e)
				}
			},
		},
		{
			name: "unknown type becomes RawEvent",
			json: `{"type":"ChannelTalkingStarted","timestamp":"2026-11-23T19:21:50.836+0000","application":"crmphone","channel":{"id":"c1"}}`,
			check: func(t *testing.T, ev Event) {
				e, ok := ev.(*RawEvent)
				if !ok {
					t.Fatalf("got %T", ev)
				}
				if e.Type() != "ChannelTalkingStarted" || e.Application != "crmphone" || !json.Valid(e.Raw) {
					t.Errorf("got %+v", e)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, ev)
		})
	}
}

func TestDecodeEventErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{}`, `{"type":""}`, `not json`, `{"type":"StasisStart","channel":"oops"}`, `{"type":"Dial","timestamp":"yesterday"}`} {
		if ev, err := DecodeEvent([]byte(in)); err == nil {
			t.Errorf("DecodeEvent(%q) = %T, want error", in, ev)
		}
	}
}

func TestRawEventKeepsCopy(t *testing.T) {
	buf := []byte(`{"type":"Whatever","application":"crmphone"}`)
	ev, err := DecodeEvent(buf)
	if err != nil {
		t.Fatal(err)
	}
	buf[2] = 'X'
	if !json.Valid(ev.(*RawEvent).Raw) || reflect.DeepEqual([]byte(ev.(*RawEvent).Raw), buf) {
		t.Error("RawEvent.Raw aliases the input buffer")
	}
}

func TestTimeRoundTrip(t *testing.T) {
	var tm Time
	if err := json.Unmarshal([]byte(`"2026-11-23T19:07:27.970+0000"`), &tm); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `"2026-11-23T19:07:27.970+0000"` {
		t.Errorf("marshal = %s", b)
	}
	if err := json.Unmarshal([]byte(`"2026-11-23T19:07:27.97Z"`), &tm); err != nil || tm.Nanosecond() != 970_000_000 {
		t.Errorf("RFC 3339 fallback: %v %v", tm, err)
	}
}

const stasisStartJSON = `{"type": "StasisStart", "timestamp": "2026-11-23T19:34:21.987+0000", "args": ["out"], "channel": {"id": "g1a-out", "name": "PJSIP/sipp-uas-00000001", "state": "Down", "protocol_id": "", "caller": {"name": "", "number": ""}, "connected": {"name": "", "number": ""}, "accountcode": "", "dialplan": {"context": "crm-in", "exten": "s", "priority": 1, "app_name": "Stasis", "app_data": "crmphone,out"}, "creationtime": "2026-11-23T19:34:21.985+0000", "language": "en"}, "asterisk_id": "02:fc:00:00:00:01", "application": "crmphone"}`

const channelVarsetJSON = `{"variable": "STASISSTATUS", "value": "", "type": "ChannelVarset", "timestamp": "2026-11-23T19:11:13.461+0000", "channel": {"id": "em1-ulaw", "name": "UnicastRTP/127.0.0.1:40000-0x7fbbe80061b0", "state": "Up", "protocol_id": "", "caller": {"name": "", "number": ""}, "connected": {"name": "", "number": ""}, "accountcode": "", "dialplan": {"context": "default", "exten": "s", "priority": 1, "app_name": "Stasis", "app_data": "crmphone"}, "creationtime": "2026-11-23T19:11:13.459+0000", "language": "en"}, "asterisk_id": "02:fc:00:00:00:01", "application": "crmphone"}`

const dialJSON = `{"type": "Dial", "timestamp": "2026-11-23T19:11:13.459+0000", "dialstatus": "", "forward": "", "dialstring": "127.0.0.1:40000/c(ulaw)", "peer": {"id": "em1-ulaw", "name": "UnicastRTP/127.0.0.1:40000-0x7fbbe80061b0", "state": "Down", "protocol_id": "", "caller": {"name": "", "number": ""}, "connected": {"name": "", "number": ""}, "accountcode": "", "dialplan": {"context": "default", "exten": "s", "priority": 1, "app_name": "AppDial2", "app_data": "(Outgoing Line)"}, "creationtime": "2026-11-23T19:11:13.459+0000", "language": "en"}, "asterisk_id": "02:fc:00:00:00:01", "application": "crmphone"}`

func BenchmarkDecodeEvent(b *testing.B) {
	for _, bc := range []struct{ name, json string }{
		{"StasisStart", stasisStartJSON},
		{"ChannelVarset", channelVarsetJSON},
		{"Dial", dialJSON},
	} {
		data := []byte(bc.json)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := DecodeEvent(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestPeekType(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`{"type":"Dial"}`, "Dial", true},
		{` { "a" : {"type":"inner","x":[1,{"type":"deep"}]}, "b": "t\"ype", "n": -1.5e3, "t": true, "type" : "StasisStart" }`, "StasisStart", true},
		{`{"channel":{"channelvars":{"type":"x"}},"type":"ChannelVarset"}`, "ChannelVarset", true},
		{`{"a":1}`, "", true},
		{`{"t\u0079pe":"X"}`, "", false}, // escaped key: give up, encoding/json decides
		{`{"type":"A\"B"}`, "", false},
		{`[1]`, "", false},
		{`{"a":}`, "", false},
		{`{"a":"unterminated}`, "", false},
	}
	for _, tt := range tests {
		got, ok := peekType([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("peekType(%s) = %q,%v want %q,%v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDecodeEventEscapedTypeKey(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"t\u0079pe":"StasisEnd","channel":{"id":"c"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := ev.(*StasisEnd); !ok || e.Channel.ID != "c" {
		t.Errorf("got %T %+v", ev, ev)
	}
}
