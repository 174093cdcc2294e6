package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmphone/crmphone/ari/aritest"
	"github.com/crmphone/crmphone/controller/agents"
	"github.com/crmphone/crmphone/controller/apikeys"
	"github.com/crmphone/crmphone/controller/config"
	"github.com/crmphone/crmphone/controller/store"
	"github.com/crmphone/crmphone/tokens"
	"github.com/crmphone/crmphone/ui/web/browsertest"
)

// TestBrowserInboundCall: a call to a group rings two operators logged in
// in two browser tabs; the CRM card appears in both; one answers; audio flows
// both ways; the other's panel disappears; record and webhooks are right.
func TestBrowserInboundCall(t *testing.T) {
	sim := aritest.New(t)
	defer sim.Close()
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // a slow CRM must not delay ringing
		fmt.Fprintf(w, `{"name":"ACME Ltd","title":"ACME Ltd","url":"https://crm.example.com/clients/42","fields":{"Orders":"3"}}`)
	}))
	defer crm.Close()
	hooks := newHookReceiver(t)

	ta, origin := startSimApp(t, sim, func(c *config.Config) {
		c.CRM.LookupURL = crm.URL + "/lookup?phone={number}"
		c.Webhooks.URL, c.Webhooks.Secret = hooks.url, hooks.secret
	})
	if err := ta.store.PutRoutingTarget(context.Background(), store.RoutingTarget{ID: "sales", Members: []string{"ann", "bob"},
		Strategy: "ring_all", RingTimeoutS: 30, MemberTimeoutS: 15, OnNoAnswer: "continue"}); err != nil {
		t.Fatal(err)
	}

	b := browsertest.New(t, browsertest.Options{MicToneHz: 440})
	login := func(opID, name string) *browsertest.Browser {
		tab := b.NewTab(t)
		tab.Open(origin + "/phone/")
		tab.Type("#token", mintV2(t, func(c *tokens.Claims) { c.OperatorID, c.DisplayName, c.DialPatterns = opID, name, nil }))
		tab.Press(browsertest.Enter)
		tab.WaitText("#operator", name)
		tab.WaitFor(`window.crmphone.phone?.peerConnection?.connectionState === "connected"`, name+"'s media path")
		browsertest.Eval[bool](tab, `(window.offerAt = 0, window.crmphone.phone.addEventListener("offer", () => { window.offerAt = Date.now(); }), true)`)
		return tab
	}
	ann, bob := login("ann", "Ann"), login("bob", "Bob")
	// Media state reaches the agents registry asynchronously.
	for deadline := time.Now().Add(5 * time.Second); len(ta.agents.Candidates([]string{"ann", "bob"})) != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("operators not available: %v", onlineOf(ta))
		}
	}

	injectedAt := time.Now()
	caller, err := sim.InjectInbound(context.Background(), aritest.InboundCall{CallerNumber: "+15550042", CallerName: "<img src=x onerror=alert(1)>",
		Exten: "100", Args: []string{"inbound", "sales"}, FarEnd: aritest.FarEnd{Media: aritest.Tone{Frequency: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tab := range []*browsertest.Browser{ann, bob} {
		tab.WaitFor(`!document.querySelector("#incoming").hidden`, "the incoming-call panel")
		tab.WaitText("#caller-number", "+15550042")
		tab.WaitText("#caller-name", "<img src=x onerror=alert(1)>")
		if browsertest.Eval[int](tab, `document.querySelectorAll("#incoming img").length`) != 0 {
			t.Fatal("the caller's name was rendered as HTML")
		}
		tab.WaitFor(`document.querySelector("#card-link")?.href === "https://crm.example.com/clients/42"`, "the CRM card link")
	}
	offerAt := browsertest.Eval[float64](ann, `window.offerAt`)
	stasisToOffer := time.UnixMilli(int64(offerAt)).Sub(injectedAt)

	// Ann answers; time from her click to the first audio packet in her browser.
	answerToAudio := browsertest.Eval[float64](ann, `(async () => {
  const pc = window.crmphone.phone.peerConnection;
  const count = async () => { let n = 0; (await pc.getStats()).forEach(r => { if (r.type === "inbound-rtp" && r.kind === "audio") n = r.packetsReceived; }); return n; };
  const base = await count();
  const t0 = performance.now();
  document.querySelector("#answer").click();
  for (;;) { await new Promise(r => setTimeout(r, 2)); if (await count() > base) return performance.now() - t0; }
})()`)
	ann.WaitFor(`document.querySelector("#call-state").dataset.state === "answered"`, "ann answered")
	bob.WaitFor(`document.querySelector("#incoming").hidden`, "bob's panel to disappear")
	if hz := remoteToneHz(t, ann); math.Abs(hz-1000) > 25 {
		t.Fatalf("ann heard %.0f Hz, want the caller's 1000 Hz", hz)
	}
	for deadline := time.Now().Add(10 * time.Second); len(caller.Received()) < 16000; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the caller heard only %d samples", len(caller.Received()))
		}
	}
	if hz := lastSecondHz(caller.Received()); math.Abs(hz-440) > 20 {
		t.Fatalf("the caller heard %.0f Hz, want ann's 440 Hz", hz)
	}
	t.Logf("measured: StasisStart → offer in the browser %v; answer click → first audio packet in the browser %.1f ms",
		stasisToOffer, answerToAudio)

	caller.Hangup()
	ann.WaitFor(`document.querySelector("#call-state").dataset.state === "ended"`, "the call to end")
	waitSimEmpty(t, sim)
	calls, _ := ta.store.ListCalls(context.Background(), store.CallFilter{})
	if len(calls) != 1 || calls[0].Direction != "inbound" || calls[0].OperatorID != "ann" || calls[0].TargetID != "sales" ||
		calls[0].Cause != "remote_hangup" || calls[0].AnsweredAt == nil || calls[0].Number != "+15550042" {
		t.Fatalf("records %+v", calls)
	}
	got := hooks.wait(t, 3)
	var types []string
	for _, h := range got {
		types = append(types, h.Type)
	}
	if strings.Join(types, ",") != "call.offered,call.answered,call.ended" {
		t.Fatalf("webhooks %v", types)
	}
}

// TestBrowserClickToCall: the CRM asks through the REST API; the operator's
// page dials; with two tabs open only one call is placed.
func TestBrowserClickToCall(t *testing.T) {
	sim := aritest.New(t)
	defer sim.Close()
	sim.SetFarEnd("5553333", aritest.FarEnd{Outcome: aritest.Answer, AnswerAfter: 100 * time.Millisecond, Media: aritest.Tone{Frequency: 1000}})
	ta, origin := startSimApp(t, sim, nil)
	_, key, err := apikeys.NewManager(ta.store).Create(context.Background(), "crm")
	if err != nil {
		t.Fatal(err)
	}

	b := browsertest.New(t, browsertest.Options{MicToneHz: 440})
	var tabs []*browsertest.Browser
	for i := 0; i < 2; i++ {
		tab := b.NewTab(t)
		tab.Open(origin + "/phone/")
		tab.Type("#token", mintV2(t, func(c *tokens.Claims) { c.DialPatterns = nil }))
		tab.Press(browsertest.Enter)
		tab.WaitFor(`window.crmphone.phone?.peerConnection?.connectionState === "connected"`, "the media path")
		tabs = append(tabs, tab)
	}
	req, _ := http.NewRequest(http.MethodPost, ta.base+"/api/v1/operators/op-17/calls", strings.NewReader(`{"number":"555-3333","crm_ref":"order-9"}`))
	req.Header.Set("Authorization", "Bearer "+key.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(body), `"tabs":2`) {
		t.Fatalf("click-to-call: %d %s", resp.StatusCode, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		answered := 0
		for _, tab := range tabs {
			if browsertest.Eval[bool](tab, `document.querySelector("#call-state").dataset.state === "answered"`) {
				answered++
			}
		}
		if answered == 1 {
			break
		}
		if answered > 1 || time.Now().After(deadline) {
			t.Fatalf("%d tabs in a call, want exactly 1", answered)
		}
		time.Sleep(50 * time.Millisecond)
	}
	calls, _ := ta.store.ListCalls(context.Background(), store.CallFilter{})
	if len(calls) != 1 || calls[0].Number != "5553333" || calls[0].CRMRef != "order-9" || calls[0].OperatorID != "op-17" {
		t.Fatalf("calls %+v", calls)
	}
	// Without any tab the CRM is told the operator is offline.
	req, _ = http.NewRequest(http.MethodPost, ta.base+"/api/v1/operators/nobody/calls", strings.NewReader(`{"number":"5553333"}`))
	req.Header.Set("Authorization", "Bearer "+key.Reveal())
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("offline operator: %v %v", resp, err)
	}
}

func onlineOf(ta *testApp) []agents.Entry {
	online, _ := ta.agents.Online(context.Background())
	return online
}
