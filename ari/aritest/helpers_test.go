package aritest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
)

// testClient is a minimal ARI client for the simulator's own tests (the real client lives in
// package ari and is not imported here on purpose).
type testClient struct {
	t      testing.TB
	srv    *Server
	hc     *http.Client
	ws     *websocket.Conn
	events chan map[string]any
	done   chan struct{}
	mu     sync.Mutex
	seen   []map[string]any
	used   map[int]bool // indexes of seen events already returned by waitEvent
}

func newTestClient(t testing.TB, srv *Server, app string) *testClient {
	t.Helper()
	c := &testClient{t: t, srv: srv, hc: &http.Client{Timeout: 10 * time.Second}}
	if app != "" {
		u := strings.Replace(srv.URL(), "http://", "ws://", 1) + "/ari/events?app=" + app +
			"&api_key=" + srv.Username() + ":" + srv.Password()
		ws, _, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			t.Fatalf("dial events websocket: %v", err)
		}
		c.ws = ws
		c.events = make(chan map[string]any, 4096)
		c.done = make(chan struct{})
		go func() {
			defer close(c.done)
			defer close(c.events)
			for {
				_, b, err := ws.ReadMessage()
				if err != nil {
					return
				}
				var m map[string]any
				if json.Unmarshal(b, &m) == nil {
					c.events <- m
				}
			}
		}()
		// The application is registered once the websocket is in the server's subscriber list.
		waitFor(t, func() bool {
			st, body := c.do("GET", "/ari/applications/"+app, nil)
			return st == 200 && bytes.Contains(body, []byte(app))
		})
	}
	t.Cleanup(c.close)
	return c
}

func (c *testClient) close() {
	if c.ws != nil {
		_ = c.ws.Close()
		<-c.done
	}
	c.hc.CloseIdleConnections()
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within 10 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (c *testClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.srv.URL()+path, rd)
	if err != nil {
		c.t.Fatalf("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(c.srv.Username(), c.srv.Password())
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *testClient) mustDo(method, path string, want int) map[string]any {
	c.t.Helper()
	st, b := c.do(method, path, nil)
	if st != want {
		c.t.Fatalf("%s %s: status %d, want %d (%s)", method, path, st, want, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func evChannelID(e map[string]any) string {
	for _, k := range []string{"channel", "peer"} {
		if ch, ok := e[k].(map[string]any); ok {
			id, _ := ch["id"].(string)
			return id
		}
	}
	return ""
}

// waitEvent consumes events until one of type typ for channel chID ("" = any) arrives.
func (c *testClient) waitEvent(typ, chID string) map[string]any {
	c.t.Helper()
	match := func(e map[string]any) bool { return e["type"] == typ && (chID == "" || evChannelID(e) == chID) }
	c.mu.Lock()
	if c.used == nil {
		c.used = map[int]bool{}
	}
	for i, e := range c.seen {
		if !c.used[i] && match(e) {
			c.used[i] = true
			c.mu.Unlock()
			return e
		}
	}
	c.mu.Unlock()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e, ok := <-c.events:
			if !ok {
				c.t.Fatalf("websocket closed while waiting for %s", typ)
			}
			c.mu.Lock()
			c.seen = append(c.seen, e)
			if match(e) {
				c.used[len(c.seen)-1] = true
				c.mu.Unlock()
				return e
			}
			c.mu.Unlock()
		case <-timeout:
			c.t.Fatalf("timeout waiting for %s of %q", typ, chID)
		}
	}
}

// typesFor returns the types of the events seen so far for channel id, without ChannelVarset.
func (c *testClient) typesFor(id string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.seen {
		if evChannelID(e) == id && e["type"] != "ChannelVarset" {
			t := e["type"].(string)
			if t == "Dial" || t == "ChannelStateChange" {
				if t == "Dial" {
					t += ":" + e["dialstatus"].(string)
				} else {
					t += ":" + e["channel"].(map[string]any)["state"].(string)
				}
			}
			out = append(out, t)
		}
	}
	return out
}

// rtpPeer is the test's externalMedia peer: a UDP socket that records what arrives.
type rtpPeer struct {
	conn *net.UDPConn
	mu   sync.Mutex
	pkts []rtp.Packet
	done chan struct{}
}

func newRTPPeer(t testing.TB) *rtpPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPeer{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 2048)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(append([]byte(nil), buf[:n]...)) == nil {
				p.mu.Lock()
				p.pkts = append(p.pkts, pkt)
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { _ = conn.Close(); <-p.done })
	return p
}

func (p *rtpPeer) addr() string { return p.conn.LocalAddr().String() }

func (p *rtpPeer) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.pkts) }

func (p *rtpPeer) packets() []rtp.Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rtp.Packet(nil), p.pkts...)
}

func (p *rtpPeer) reset() { p.mu.Lock(); p.pkts = nil; p.mu.Unlock() }

// sendFrames sends n payloads from next with payload type pt to addr, one every 20 ms.
func (p *rtpPeer) sendFrames(t testing.TB, to string, pt uint8, next func() []byte, n int) {
	t.Helper()
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(i),
			Timestamp: uint32(i * frameSamples), SSRC: 43}, Payload: next()}
		b, _ := pkt.Marshal()
		if _, err := p.conn.WriteToUDP(b, dst); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sendTone sends frames of a tone encoded with enc to addr, one every 20 ms.
func (p *rtpPeer) sendTone(t testing.TB, to string, pt uint8, enc func(int16) byte, freq float64, frames int) {
	t.Helper()
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	g := newToneGen(freq, 8000)
	for i := 0; i < frames; i++ {
		payload := mapBytes(g.next(frameSamples), enc)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(i),
			Timestamp: uint32(i * frameSamples), SSRC: 42}, Payload: payload}
		b, _ := pkt.Marshal()
		if _, err := p.conn.WriteToUDP(b, dst); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func decodeAll(pkts []rtp.Packet, dec func(byte) int16) []int16 {
	var out []int16
	for _, p := range pkts {
		out = append(out, mapSamples(p.Payload, dec)...)
	}
	return out
}

func fmtTypes(v []string) string { return fmt.Sprintf("%q", v) }

func websocketDial(u string) (*websocket.Conn, *http.Response, error) {
	ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if ws != nil {
		ws.Close()
	}
	return ws, resp, err
}
