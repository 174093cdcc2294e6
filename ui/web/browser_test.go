package web_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/crmphone/crmphone/ui/web/browsertest"
)

// TestSoftphoneInBrowser drives the real page and SDK in headless Chromium against the real signaling
// server, with scripted call handlers and a pion PeerConnection as the far end of the audio.
func TestSoftphoneInBrowser(t *testing.T) {
	h := newHarness(t)
	b := browsertest.New(t, browsertest.Options{MicToneHz: 440})

	t.Run("bad token from the fragment", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Open(h.url + "/phone/#token=bad-expired")
		tab.WaitFor(`document.querySelector("#error").dataset.code === "expired"`, "the expired error")
		if got := tab.Text("#error"); !strings.Contains(got, "expired") || !strings.Contains(got, "CRM") {
			t.Fatalf("error text = %q, want a human explanation of an expired token", got)
		}
		tab.WaitFor(`document.querySelector("#conn-state").dataset.state === "offline"`, "state offline")
		if hash := browsertest.Eval[string](tab, `location.hash`); hash != "" {
			t.Fatalf("the token stays in the address bar: %q", hash)
		}
		if !browsertest.Eval[bool](tab, `!document.querySelector("#login-form").hidden`) {
			t.Fatal("the login form is hidden after a failed login")
		}
	})

	t.Run("bad token pasted into the field", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Open(h.url + "/phone/")
		tab.Type("#token", "bad-replayed")
		tab.Press(browsertest.Enter)
		tab.WaitFor(`document.querySelector("#error").dataset.code === "replayed"`, "the replayed error")
		if got := tab.Text("#error"); !strings.Contains(got, "already used") {
			t.Fatalf("error text = %q", got)
		}
		if got := tab.Text("#operator"); strings.Contains(got, "Operator") {
			t.Fatalf("operator shown after a rejected login: %q", got)
		}
	})

	t.Run("login, media both ways, call controls", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Open(h.url + "/#token=good-op1") // "/" redirects to /phone/ and keeps the fragment
		tab.WaitText("#operator", "Operator op1")
		tab.WaitFor(`document.querySelector("#conn-state").dataset.state === "online"`, "state online")

		// The media path: pion's ICE is up, the page's PeerConnection is connected.
		tab.WaitFor(`window.crmphone.phone?.peerConnection?.connectionState === "connected"`, "the page's PeerConnection connected")
		deadline := time.Now().Add(15 * time.Second)
		for h.media.iceConnected() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the test's PeerConnection never reached ICE connected")
			}
			time.Sleep(20 * time.Millisecond)
		}
		tab.WaitFor(`window.crmphone.phone.mediaState === "connected"`, "the media.state event")
		if offers := h.received("media.offer"); len(offers) != 1 || !strings.Contains(offers[0].Params["sdp"].(string), "a=sendrecv") {
			t.Fatalf("want one sendrecv offer, got %d", len(offers))
		}

		// Audio: the browser hears the test's 1000 Hz, the test hears the browser's 440 Hz.
		if hz := tab.RemoteToneHz("window.crmphone.phone.audioElement.srcObject"); math.Abs(hz-sendToneHz) > 20 {
			t.Fatalf("the browser hears %.0f Hz, want %d Hz", hz, sendToneHz)
		}
		waitBrowserTone(t, h, 440)

		// Switching the microphone replaces the sender's track without a new offer; audio keeps flowing.
		tab.WaitFor(`document.querySelector("#input-device").options.length >= 2`, "two fake microphones listed")
		oldTrack := browsertest.Eval[string](tab, `window.crmphone.phone.peerConnection.getSenders()[0].track.id`)
		browsertest.Eval[bool](tab, `(() => {
			const s = document.querySelector("#input-device");
			s.selectedIndex = 1;
			s.dispatchEvent(new Event("change"));
			return true;
		})()`)
		tab.WaitFor(`window.crmphone.phone.peerConnection.getSenders()[0].track?.id !== `+jsQuote(oldTrack), "the new microphone track")
		h.media.resetReceived()
		waitBrowserTone(t, h, 440)
		if n := len(h.received("media.offer")); n != 1 {
			t.Fatalf("changing the microphone renegotiated (%d offers)", n)
		}
		// The output device follows the choice where the browser supports setSinkId.
		if browsertest.Eval[bool](tab, `typeof HTMLMediaElement.prototype.setSinkId === "function" && document.querySelector("#output-device").options.length > 0`) {
			got := browsertest.Eval[[]string](tab, `(async () => {
				const s = document.querySelector("#output-device");
				s.selectedIndex = s.options.length - 1;
				await window.crmphone.phone.setOutputDevice(s.value);
				return [s.value, window.crmphone.phone.audioElement.sinkId];
			})()`)
			if got[0] != got[1] {
				t.Fatalf("output device %q, element plays on %q", got[0], got[1])
			}
		} else {
			t.Log("this browser cannot choose the audio output; setOutputDevice not checked")
		}

		// An invalid number is refused in the page and never sent.
		tab.Type("#number", "12&34")
		tab.Press(browsertest.Enter)
		tab.WaitFor(`document.querySelector("#error").dataset.code === "invalid_number"`, "the invalid number error")
		if got := tab.Text("#error"); !strings.Contains(got, "not a valid phone number") {
			t.Fatalf("error text = %q", got)
		}
		if got := h.received("call"); len(got) != 0 {
			t.Fatalf("an invalid number reached the server: %+v", got)
		}

		// A valid number: Enter dials, the page walks through the states and the timer runs.
		browsertest.Eval[bool](tab, `(() => {
			window.seenStates = [];
			new MutationObserver(() => {
				const s = document.querySelector("#call-state").dataset.state;
				if (window.seenStates.at(-1) !== s) window.seenStates.push(s);
			}).observe(document.querySelector("#call-state"), {attributes: true, childList: true, characterData: true, subtree: true});
			document.querySelector("#number").value = "";
			return true;
		})()`)
		tab.Type("#number", "+15551234")
		tab.Press(browsertest.Enter)
		calls := h.waitReceived("call", 1)
		if calls[0].Params["number"] != "+15551234" {
			t.Fatalf("call params = %v", calls[0].Params)
		}
		tab.WaitFor(`document.querySelector("#call-state").dataset.state === "answered"`, "the answered state")
		tab.WaitFor(`document.querySelector("#timer").textContent === "00:01"`, "the timer to count from the answer")
		if seen := browsertest.Eval[[]string](tab, `window.seenStates`); strings.Join(seen, ",") != "dialing,ringing,answered" {
			t.Fatalf("the page showed states %v", seen)
		}
		if got := tab.Text("#error"); got != "" {
			t.Fatalf("error shown after a good call: %q", got)
		}
		callID := "c-1"

		// Mute, hold and DTMF (keyboard and keypad) send the right requests.
		tab.Click("#mute")
		mute := h.waitReceived("mute", 1)
		if mute[0].Params["call_id"] != callID || mute[0].Params["muted"] != true {
			t.Fatalf("mute params = %v", mute[0].Params)
		}
		tab.WaitFor(`document.querySelector("#mute").getAttribute("aria-pressed") === "true"`, "mute shown pressed")
		tab.Click("#hold")
		hold := h.waitReceived("hold", 1)
		if hold[0].Params["call_id"] != callID || hold[0].Params["held"] != true {
			t.Fatalf("hold params = %v", hold[0].Params)
		}
		tab.WaitFor(`document.querySelector("#hold").getAttribute("aria-pressed") === "true"`, "hold shown pressed")
		tab.Click("#mute")
		if mute := h.waitReceived("mute", 2); mute[1].Params["muted"] != false {
			t.Fatalf("unmute params = %v", mute[1].Params)
		}
		tab.Press("5")
		tab.Click(`#pad button[data-key="#"]`)
		dtmf := h.waitReceived("dtmf", 2)
		if dtmf[0].Params["digits"] != "5" || dtmf[1].Params["digits"] != "#" || dtmf[1].Params["call_id"] != callID {
			t.Fatalf("dtmf = %+v", dtmf)
		}
		if got := browsertest.Eval[string](tab, `document.querySelector("#number").value`); got != "+15551234" {
			t.Fatalf("DTMF digits went into the number field: %q", got)
		}

		// Escape hangs up.
		tab.Press(browsertest.Escape)
		if hangup := h.waitReceived("hangup", 1); hangup[0].Params["call_id"] != callID {
			t.Fatalf("hangup params = %v", hangup[0].Params)
		}
		tab.WaitFor(`document.querySelector("#call-state").dataset.state === "ended"`, "the ended state")
		tab.WaitText("#call-state", "you hung up")
		if !browsertest.Eval[bool](tab, `document.querySelector("#hangup").disabled && !document.querySelector("#call").disabled`) {
			t.Fatal("after the call, Call should be enabled and Hang up disabled")
		}

		// Out of a call, digits typed anywhere go to the number field.
		browsertest.Eval[bool](tab, `document.activeElement.blur(), document.querySelector("#number").value = "", true`)
		tab.Press("42")
		if got := browsertest.Eval[string](tab, `document.querySelector("#number").value`); got != "42" {
			t.Fatalf("typed digits: number field = %q", got)
		}
		if n := len(h.received("dtmf")); n != 2 {
			t.Fatalf("digits typed after the call were sent as DTMF (%d dtmf requests)", n)
		}
	})

	t.Run("SDK reconnects with a fresh token", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Open(h.url + "/phone/")
		browsertest.Eval[bool](tab, `(async () => {
			const sdk = await import("/sdk/crmphone.js");
			window.tokens = ["good-op2", "good-op2"];
			window.events = [];
			const phone = await sdk.connect({getToken: async () => window.tokens.shift()});
			phone.addEventListener("state", (e) => window.events.push(e.detail.state));
			phone.addEventListener("error", (e) => window.events.push("error:" + e.detail.code));
			window.sdkPhone = phone;
			window.firstSession = phone.sessionId;
			return true;
		})()`)
		tab.WaitFor(`window.sdkPhone.state === "online" && window.tokens.length === 1`, "the SDK phone online")
		for _, c := range h.srv.Conns("op2") {
			c.Close(1011, "test drops the socket")
		}
		tab.WaitFor(`window.events.includes("reconnecting") && window.sdkPhone.state === "online" && window.tokens.length === 0`,
			"reconnect with the second token")
		if browsertest.Eval[bool](tab, `window.sdkPhone.sessionId === window.firstSession`) {
			t.Fatal("the session id did not change after reconnecting")
		}
		tab.WaitFor(`window.sdkPhone.peerConnection?.connectionState === "connected"`, "media set up again after the reconnect")

		// getToken has no more tokens: token_needed, and it keeps trying (the CRM may come back).
		for _, c := range h.srv.Conns("op2") {
			c.Close(1011, "test drops the socket again")
		}
		tab.WaitFor(`window.events.includes("error:token_needed") && window.sdkPhone.state === "reconnecting"`, "token_needed while reconnecting")
		// A rejected token on reconnect: the login code as the error, then offline (close 4401).
		browsertest.Eval[bool](tab, `window.tokens.push("bad-expired"), true`)
		tab.WaitFor(`window.events.includes("error:expired") && window.sdkPhone.state === "offline"`, "expired, offline")
		browsertest.Eval[bool](tab, `window.sdkPhone.close(), true`)

		// Without getToken, reconnecting is impossible: token_needed and offline.
		browsertest.Eval[bool](tab, `(async () => {
			const sdk = await import("/sdk/crmphone.js");
			window.events2 = [];
			const phone = await sdk.connect({token: "good-op4"});
			phone.addEventListener("state", (e) => window.events2.push(e.detail.state));
			phone.addEventListener("error", (e) => window.events2.push("error:" + e.detail.code));
			window.sdkPhone2 = phone;
			return true;
		})()`)
		tab.WaitFor(`window.sdkPhone2.peerConnection?.connectionState === "connected"`, "the second SDK phone's media")
		for _, c := range h.srv.Conns("op4") {
			c.Close(1011, "test drops the socket")
		}
		tab.WaitFor(`window.events2.includes("error:token_needed") && window.sdkPhone2.state === "offline"`, "token_needed, offline")
		if got := browsertest.Eval[[]string](tab, `window.events2`); strings.Join(got, ",") != "error:token_needed,offline" {
			t.Fatalf("events without getToken: %v", got)
		}
	})

	t.Run("SDK validates before sending and stops on 4401", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Open(h.url + "/phone/")
		before := len(h.received("call"))
		got := browsertest.Eval[[]string](tab, `(async () => {
			const sdk = await import("/sdk/crmphone.js");
			const out = [];
			try { await sdk.connect({token: "bad-bad_token"}); out.push("connected?"); } catch (e) { out.push(e.code); }
			const phone = await sdk.connect({token: "good-op3"});
			for (const n of ["12&34", "", "1".repeat(33), "1 2"]) {
				try { await phone.call(n); out.push("sent " + n); } catch (e) { out.push(e.code); }
			}
			try { await phone.dtmf("c-x", "5!"); } catch (e) { out.push(e.code); }
			try { await phone.hangup("c-nope"); } catch (e) { out.push(e.code); }
			phone.close();
			out.push(phone.state);
			return out;
		})()`)
		want := "bad_token,invalid_number,invalid_number,invalid_number,invalid_number,bad_request,unknown_call,offline"
		if strings.Join(got, ",") != want {
			t.Fatalf("got %v, want %s", got, want)
		}
		if n := len(h.received("call")); n != before {
			t.Fatalf("%d invalid calls reached the server", n-before)
		}
	})

	t.Run("page keyboard access", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Open(h.url + "/phone/")
		missing := browsertest.Eval[[]string](tab, `["#token","#login","#operator","#conn-state","#number","#call","#hangup",
			"#mute","#hold","#keypad","#call-state","#timer","#error","#input-device","#output-device"]
			.filter((s) => !document.querySelector(s))`)
		if len(missing) != 0 {
			t.Fatalf("missing elements: %v", missing)
		}
		unlabelled := browsertest.Eval[[]string](tab, `[...document.querySelectorAll("button, input, select")]
			.filter((e) => !e.getAttribute("aria-label") && !(e.id && document.querySelector('label[for="' + e.id + '"]')))
			.map((e) => e.outerHTML)`)
		if len(unlabelled) != 0 {
			t.Fatalf("controls without a label: %v", unlabelled)
		}
		// From the token field, Tab walks the enabled controls in order, with a visible focus ring.
		browsertest.Eval[bool](tab, `document.querySelector("#token").focus(), true`)
		var order []string
		for i := 0; i < 3; i++ {
			tab.Press(browsertest.Tab)
			order = append(order, browsertest.Eval[string](tab, `document.activeElement.id`))
			if !browsertest.Eval[bool](tab, `getComputedStyle(document.activeElement).outlineStyle !== "none"`) {
				t.Fatalf("no visible focus on #%s", order[len(order)-1])
			}
		}
		if fmt.Sprint(order) != "[login number keypad]" {
			t.Fatalf("tab order starts %v", order)
		}
	})
}

// waitBrowserTone waits until the test's PeerConnection hears hz (±20 Hz) from the browser.
func waitBrowserTone(t *testing.T, h *harness, want float64) {
	t.Helper()
	var hz, rms float64
	deadline := time.Now().Add(15 * time.Second)
	for {
		hz, rms = h.media.receivedTone()
		if rms > 300 && math.Abs(hz-want) <= 20 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the test hears %.0f Hz at RMS %.0f from the browser, want %.0f Hz", hz, rms, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
