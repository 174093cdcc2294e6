package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmphone/crmphone/ui/signaling"
	"github.com/crmphone/crmphone/ui/web/browsertest"
)

// fakeOffer is an inbound call the test offers to an operator's tabs.
type fakeOffer struct {
	op       string
	data     map[string]any
	answered bool
}

func operatorOf(c *signaling.Conn) string {
	if s := c.Session(); s != nil {
		return s.Identity.OperatorID
	}
	return ""
}

// registerInboundHandlers scripts the server side of inbound calls, presence and callback tasks the way
// PROTOCOL.md describes it.
func (h *harness) registerInboundHandlers() {
	h.srv.Handle("answer", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		p := h.record("answer", raw)
		id, _ := p["call_id"].(string)
		h.mu.Lock()
		o, ok := h.offers[id]
		if !ok || o.answered {
			h.mu.Unlock()
			return nil, signaling.Errf("unknown_call", "no such offer")
		}
		o.answered = true
		number, _ := o.data["number"].(string)
		call := &fakeCall{id: id, number: number, state: "answered", direction: "inbound"}
		h.calls[id] = call
		h.mu.Unlock()
		for _, other := range h.srv.Conns(o.op) {
			if other != c {
				other.Notify("call.offer_withdrawn", map[string]any{"call_id": id, "reason": "answered_elsewhere"})
			}
		}
		time.AfterFunc(50*time.Millisecond, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if call.state != "ended" {
				h.notify(c, call, "")
			}
		})
		return map[string]any{"call_id": id}, nil
	})
	h.srv.Handle("reject", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		p := h.record("reject", raw)
		id, _ := p["call_id"].(string)
		h.mu.Lock()
		o, ok := h.offers[id]
		h.mu.Unlock()
		if !ok || o.answered {
			return nil, signaling.Errf("unknown_call", "no such offer")
		}
		c.Notify("call.offer_withdrawn", map[string]any{"call_id": id, "reason": "rejected"})
		return map[string]any{}, nil
	})
	h.srv.Handle("presence.set", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		p := h.record("presence.set", raw)
		state, _ := p["state"].(string)
		if state != "available" && state != "away" {
			return nil, signaling.Errf("bad_request", "state is available or away")
		}
		h.presence(operatorOf(c), state, 0)
		return map[string]any{}, nil
	})
	h.srv.Handle("tasks.list", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		h.record("tasks.list", raw)
		h.mu.Lock()
		defer h.mu.Unlock()
		tasks := append([]map[string]any{}, h.tasks[operatorOf(c)]...)
		return map[string]any{"tasks": tasks}, nil
	})
	h.srv.Handle("tasks.close", func(ctx context.Context, c *signaling.Conn, raw json.RawMessage) (any, error) {
		p := h.record("tasks.close", raw)
		id, _ := p["task_id"].(string)
		op := operatorOf(c)
		h.mu.Lock()
		kept := h.tasks[op][:0:0]
		for _, t := range h.tasks[op] {
			if t["id"] != id {
				kept = append(kept, t)
			}
		}
		found := len(kept) != len(h.tasks[op])
		h.tasks[op] = kept
		h.mu.Unlock()
		if !found {
			return nil, signaling.Errf("unknown_task", "no such task")
		}
		h.notifyOp(op, "tasks.changed", nil)
		return map[string]any{}, nil
	})
}

func (h *harness) notifyOp(op, event string, data any) {
	conns := h.srv.Conns(op)
	if len(conns) == 0 {
		h.t.Fatalf("operator %s has no logged-in tab to send %s to", op, event)
	}
	for _, c := range conns {
		c.Notify(event, data)
	}
}

// offer offers an inbound call to every tab of op; card may be nil (the CRM lookup has not answered yet).
func (h *harness) offer(op, callID, number, name string, card map[string]any) {
	data := map[string]any{"call_id": callID, "number": number, "name": name, "target": "sales", "offered_at": time.Now().UnixMilli()}
	if card != nil {
		data["card"] = card
	}
	h.mu.Lock()
	h.offers[callID] = &fakeOffer{op: op, data: data}
	h.mu.Unlock()
	h.notifyOp(op, "call.offer", data)
}

func (h *harness) presence(op, state string, until int64) {
	data := map[string]any{"state": state}
	if until != 0 {
		data["until"] = until
	}
	h.notifyOp(op, "presence", data)
}

func (h *harness) setTasks(op string, tasks ...map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tasks[op] = tasks
}

// openOnline opens the softphone page logged in as op and waits until it is online with media.
func openOnline(t *testing.T, b *browsertest.Browser, h *harness, op string) *browsertest.Browser {
	t.Helper()
	tab := b.NewTab(t)
	tab.Open(h.url + "/phone/#token=good-" + op)
	tab.WaitFor(`document.querySelector("#conn-state").dataset.state === "online"`, op+" online")
	tab.WaitFor(`window.crmphone.phone?.peerConnection?.connectionState === "connected"`, op+" media connected")
	return tab
}

// TestInboundInBrowser drives the softphone page's inbound side (offers, CRM cards, presence, callback
// tasks) in headless Chromium against the real signaling server with scripted handlers.
func TestInboundInBrowser(t *testing.T) {
	h := newHarness(t)
	b := browsertest.New(t, browsertest.Options{})

	t.Run("offer, late card, answer", func(t *testing.T) {
		tab := openOnline(t, b, h, "in1")
		if !browsertest.Eval[bool](tab, `document.querySelector("#incoming").hidden`) {
			t.Fatal("the incoming panel shows without an offer")
		}
		h.offer("in1", "c-in-1", "+15551234", "ACME Ltd", nil)
		tab.WaitFor(`!document.querySelector("#incoming").hidden`, "the incoming panel")
		if got := tab.Text("#caller-number"); got != "+15551234" {
			t.Fatalf("caller number = %q", got)
		}
		if got := tab.Text("#caller-name"); got != "ACME Ltd" {
			t.Fatalf("caller name = %q", got)
		}
		if browsertest.Eval[bool](tab, `!document.querySelector("#card-link").hidden`) {
			t.Fatal("a card link shows before the card arrived")
		}

		h.notifyOp("in1", "call.card", map[string]any{"call_id": "c-in-1", "card": map[string]any{
			"url": "https://crm.example.com/clients/42", "title": "ACME Ltd (client 42)",
			"fields": map[string]string{"Manager": "Ann", "Orders": "3"},
		}})
		tab.WaitFor(`!document.querySelector("#card-link").hidden`, "the card link")
		link := browsertest.Eval[map[string]string](tab, `(() => {
			const a = document.querySelector("#card-link");
			return {href: a.href, target: a.target, rel: a.rel, text: a.textContent,
				fields: [...document.querySelectorAll("#card-fields dt, #card-fields dd")].map((e) => e.textContent).join("|")};
		})()`)
		want := map[string]string{"href": "https://crm.example.com/clients/42", "target": "_blank", "rel": "noopener noreferrer",
			"text": "ACME Ltd (client 42)", "fields": "Manager|Ann|Orders|3"}
		if fmt.Sprint(link) != fmt.Sprint(want) {
			t.Fatalf("card link = %v, want %v", link, want)
		}

		tab.Click("#answer")
		if got := h.waitReceived("answer", 1); got[0].Params["call_id"] != "c-in-1" {
			t.Fatalf("answer params = %v", got[0].Params)
		}
		tab.WaitFor(`document.querySelector("#call-state").dataset.state === "answered"`, "the answered inbound call")
		tab.WaitText("#call-state", "+15551234")
		tab.WaitFor(`document.querySelector("#incoming").hidden`, "the panel gone after answering")
		if got := browsertest.Eval[string](tab, `window.crmphone.call.direction`); got != "inbound" {
			t.Fatalf("call direction = %q", got)
		}
		tab.Click("#hangup")
		if got := h.waitReceived("hangup", 1); got[0].Params["call_id"] != "c-in-1" {
			t.Fatalf("hangup params = %v", got[0].Params)
		}
		tab.WaitFor(`document.querySelector("#call-state").dataset.state === "ended"`, "the ended inbound call")

		// The caller hangs up while ringing: the panel goes away.
		h.offer("in1", "c-in-2", "+15550002", "Caller Two", nil)
		tab.WaitFor(`!document.querySelector("#incoming").hidden`, "the second offer")
		h.notifyOp("in1", "call.offer_withdrawn", map[string]any{"call_id": "c-in-2", "reason": "caller_hung_up"})
		tab.WaitFor(`document.querySelector("#incoming").hidden`, "the panel gone after the caller hung up")
		if n := len(h.received("answer")); n != 1 {
			t.Fatalf("%d answer requests, want 1", n)
		}
	})

	t.Run("several offers, reject by button and by Alt+R", func(t *testing.T) {
		tab := openOnline(t, b, h, "in2")
		h.offer("in2", "c-in-10", "+15550010", "First", nil)
		h.offer("in2", "c-in-11", "+15550011", "Second", nil)
		tab.WaitFor(`document.querySelectorAll("#offers li").length === 2`, "two offers listed")
		got := browsertest.Eval[[]string](tab, `[...document.querySelectorAll("#offers li")].map((li) =>
			li.dataset.callId + ":" + li.querySelectorAll("button[data-offer-answer], button[data-offer-reject]").length)`)
		if strings.Join(got, ",") != "c-in-10:2,c-in-11:2" {
			t.Fatalf("offers list = %v, want both with answer and reject", got)
		}
		if got := tab.Text("#caller-number"); got != "+15550010" {
			t.Fatalf("the panel shows %q, want the oldest offer", got)
		}
		tab.Click(`#offers button[data-offer-reject="c-in-11"]`)
		if got := h.waitReceived("reject", 1); got[0].Params["call_id"] != "c-in-11" {
			t.Fatalf("reject params = %v", got[0].Params)
		}
		tab.WaitFor(`document.querySelector("#offers").hidden && !document.querySelector("#incoming").hidden`, "one offer left")
		browsertest.Eval[bool](tab, `document.activeElement.blur(), true`)
		tab.PressAlt("r")
		if got := h.waitReceived("reject", 2); got[1].Params["call_id"] != "c-in-10" {
			t.Fatalf("Alt+R reject params = %v", got[1].Params)
		}
		tab.WaitFor(`document.querySelector("#incoming").hidden`, "the panel gone after rejecting")
		if n := len(h.received("answer")); n != 1 {
			t.Fatalf("rejecting sent answer requests (%d in all)", n)
		}

		// Alt+A answers the offer shown.
		h.offer("in2", "c-in-12", "+15550012", "Third", nil)
		tab.WaitFor(`!document.querySelector("#incoming").hidden`, "the third offer")
		tab.PressAlt("a")
		if got := h.waitReceived("answer", 2); got[1].Params["call_id"] != "c-in-12" {
			t.Fatalf("Alt+A answer params = %v", got[1].Params)
		}
		tab.WaitFor(`document.querySelector("#call-state").dataset.state === "answered"`, "the call answered by Alt+A")
		tab.Press(browsertest.Escape)
		tab.WaitFor(`document.querySelector("#call-state").dataset.state === "ended"`, "hung up")

		// When nothing is being typed, an offer takes the focus: Escape rejects it, Enter answers.
		browsertest.Eval[bool](tab, `document.activeElement.blur(), true`)
		h.offer("in2", "c-in-13", "+15550013", "Fourth", nil)
		tab.WaitFor(`document.activeElement === document.querySelector("#incoming")`, "the panel focused")
		tab.Press(browsertest.Escape)
		if got := h.waitReceived("reject", 3); got[2].Params["call_id"] != "c-in-13" {
			t.Fatalf("Escape reject params = %v", got[2].Params)
		}
		tab.WaitFor(`document.querySelector("#incoming").hidden`, "the panel gone after Escape")
		if n := len(h.received("hangup")); n != 2 {
			t.Fatalf("Escape on the panel sent a hangup (%d in all)", n)
		}
		browsertest.Eval[bool](tab, `document.activeElement.blur(), true`)
		h.offer("in2", "c-in-14", "+15550014", "Fifth", nil)
		tab.WaitFor(`document.activeElement === document.querySelector("#incoming")`, "the panel focused again")
		tab.Press(browsertest.Enter)
		if got := h.waitReceived("answer", 3); got[2].Params["call_id"] != "c-in-14" {
			t.Fatalf("Enter answer params = %v", got[2].Params)
		}
		tab.WaitFor(`document.querySelector("#call-state").dataset.state === "answered" && window.crmphone.call.id === "c-in-14"`, "answered by Enter")
		if n := len(h.received("call")); n != 0 {
			t.Fatalf("Enter on the panel dialled (%d call requests)", n)
		}
		tab.Press(browsertest.Escape)
		tab.WaitFor(`document.querySelector("#call-state").dataset.state === "ended"`, "hung up again")

		// While typing a number, an offer does not steal the focus.
		tab.Click("#number")
		h.offer("in2", "c-in-15", "+15550015", "Sixth", nil)
		tab.WaitFor(`!document.querySelector("#incoming").hidden`, "the sixth offer")
		if got := browsertest.Eval[string](tab, `document.activeElement.id`); got != "number" {
			t.Fatalf("the offer moved the focus to %q", got)
		}
		tab.Click("#reject")
		h.waitReceived("reject", 4)
		tab.WaitFor(`document.querySelector("#incoming").hidden`, "the panel gone after Reject")
	})

	t.Run("hostile caller name and card URLs", func(t *testing.T) {
		tab := openOnline(t, b, h, "in3")
		const hostile = `<img src=x onerror=alert(1)>`
		browsertest.Eval[bool](tab, `window.alerted = false, window.alert = () => { window.alerted = true; }, true`)
		h.offer("in3", "c-in-20", "+15550020", hostile, map[string]any{"url": "javascript:alert(1)", "title": "<b>bold</b>"})
		tab.WaitFor(`!document.querySelector("#incoming").hidden`, "the hostile offer")
		if got := tab.Text("#caller-name"); got != hostile {
			t.Fatalf("caller name shown as %q, want it literally", got)
		}
		if n := browsertest.Eval[int](tab, `document.querySelectorAll("img, b").length`); n != 0 {
			t.Fatalf("%d elements were created from caller data", n)
		}
		for i, url := range []string{
			"javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
			"data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "/clients/42", "//evil.example/x",
			"ftp://crm.example.com/x", "",
		} {
			title := fmt.Sprintf("card %d", i)
			h.notifyOp("in3", "call.card", map[string]any{"call_id": "c-in-20", "card": map[string]any{"url": url, "title": title}})
			tab.WaitText("#card-title", title)
			state := browsertest.Eval[map[string]any](tab, `({
				linkShown: !document.querySelector("#card-link").hidden,
				href: document.querySelector("#card-link").getAttribute("href"),
				anchors: [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")),
			})`)
			if state["linkShown"] != false || state["href"] != nil || len(state["anchors"].([]any)) != 0 {
				t.Errorf("card URL %q: %v, want no link at all", url, state)
			}
		}
		// An http URL after all that is linked again.
		h.notifyOp("in3", "call.card", map[string]any{"call_id": "c-in-20", "card": map[string]any{"url": "http://crm.example.com/c/1", "title": "ok"}})
		tab.WaitFor(`document.querySelector("#card-link").getAttribute("href") === "http://crm.example.com/c/1"`, "the http link")
		if browsertest.Eval[bool](tab, `window.alerted`) {
			t.Fatal("alert ran")
		}
		if got := browsertest.Eval[string](tab, `document.querySelector("#card-title").hidden ? "" : "shown"`); got != "" {
			t.Fatal("the plain title stays next to the link")
		}
	})

	t.Run("presence", func(t *testing.T) {
		tab := openOnline(t, b, h, "in4")
		tab.WaitFor(`document.querySelector("#presence").value === "available" && !document.querySelector("#presence-bar").hidden`, "available after login")
		browsertest.Eval[bool](tab, `(() => {
			const s = document.querySelector("#presence");
			s.value = "away";
			s.dispatchEvent(new Event("change"));
			return true;
		})()`)
		if got := h.waitReceived("presence.set", 1); got[0].Params["state"] != "away" {
			t.Fatalf("presence.set params = %v", got[0].Params)
		}
		tab.WaitFor(`document.querySelector("#presence").dataset.state === "away"`, "away shown")

		for _, state := range []string{"ringing", "on_call"} {
			h.presence("in4", state, 0)
			tab.WaitFor(fmt.Sprintf(`document.querySelector("#presence").value === %q && window.crmphone.phone.presence.state === %q`, state, state), state+" shown")
		}
		h.presence("in4", "wrap_up", time.Now().Add(90*time.Second).UnixMilli())
		tab.WaitFor(`document.querySelector("#presence").value === "wrap_up"`, "wrap_up shown")
		tab.WaitFor(`/^01:[23]\d$/.test(document.querySelector("#presence-until").textContent)`, "the wrap-up countdown")
		h.presence("in4", "available", 0)
		tab.WaitFor(`document.querySelector("#presence").value === "available" && document.querySelector("#presence-until").textContent === ""`, "available again")
	})

	t.Run("callback tasks", func(t *testing.T) {
		h.setTasks("in5",
			map[string]any{"id": "t-1", "number": "+15550031", "name": "<i>Bob</i>", "reason": "timeout", "target": "sales", "call_id": "c-old-1"},
			map[string]any{"id": "t-2", "number": "+15550032", "name": "Carol", "reason": "caller_hung_up", "target": "sales", "call_id": "c-old-2"},
		)
		tab := openOnline(t, b, h, "in5")
		tab.WaitFor(`document.querySelectorAll("#tasks li").length === 2`, "two tasks listed")
		got := browsertest.Eval[[]string](tab, `[...document.querySelectorAll("#tasks li")].map((li) => li.textContent)`)
		if !strings.Contains(got[0], "+15550031") || !strings.Contains(got[0], "<i>Bob</i>") || !strings.Contains(got[0], "not answered") ||
			!strings.Contains(got[1], "Carol") || !strings.Contains(got[1], "caller hung up") {
			t.Fatalf("tasks shown as %q", got)
		}
		if n := browsertest.Eval[int](tab, `document.querySelectorAll("#tasks i").length`); n != 0 {
			t.Fatal("a task name was parsed as HTML")
		}

		calls := len(h.received("call"))
		tab.Click(`#tasks li[data-task-id="t-2"] button[data-task-call]`)
		if got := h.waitReceived("call", calls+1); got[calls].Params["number"] != "+15550032" {
			t.Fatalf("the Call button dialled %v", got[calls].Params)
		}
		tab.WaitFor(`document.querySelector("#call-state").dataset.state === "answered"`, "the callback answered")
		tab.Press(browsertest.Escape)
		tab.WaitFor(`document.querySelector("#call-state").dataset.state === "ended"`, "the callback ended")

		tab.Click(`#tasks li[data-task-id="t-1"] button[data-task-close]`)
		if got := h.waitReceived("tasks.close", 1); got[0].Params["task_id"] != "t-1" {
			t.Fatalf("tasks.close params = %v", got[0].Params)
		}
		tab.WaitFor(`[...document.querySelectorAll("#tasks li")].map((li) => li.dataset.taskId).join() === "t-2"`, "t-1 gone")

		// A task made on the server side appears after tasks.changed.
		h.mu.Lock()
		h.tasks["in5"] = append(h.tasks["in5"], map[string]any{"id": "t-3", "number": "+15550033", "reason": "timeout"})
		h.mu.Unlock()
		h.notifyOp("in5", "tasks.changed", nil)
		tab.WaitFor(`[...document.querySelectorAll("#tasks li")].map((li) => li.dataset.taskId).join() === "t-2,t-3"`, "t-3 listed")
	})

	t.Run("second tab of the same operator", func(t *testing.T) {
		first := openOnline(t, b, h, "in6")
		second := openOnline(t, b, h, "in6")
		h.offer("in6", "c-in-40", "+15550040", "Dora", nil)
		first.WaitFor(`!document.querySelector("#incoming").hidden`, "the offer in the first tab")
		second.WaitFor(`!document.querySelector("#incoming").hidden`, "the offer in the second tab")
		second.WaitText("#caller-name", "Dora")

		answers := len(h.received("answer"))
		first.Click("#answer")
		h.waitReceived("answer", answers+1)
		first.WaitFor(`document.querySelector("#call-state").dataset.state === "answered"`, "answered in the first tab")
		second.WaitFor(`document.querySelector("#incoming").hidden`, "the offer gone from the second tab")
		if got := browsertest.Eval[string](second, `document.querySelector("#call-state").dataset.state`); got != "" {
			t.Fatalf("the second tab shows call state %q", got)
		}
		// The second tab answering late gets unknown_call from the server, shown as an error.
		if got := browsertest.Eval[string](second, `window.crmphone.phone.answer("c-in-40").then(() => "answered", (e) => e.code)`); got != "unknown_call" {
			t.Fatalf("a late answer: %q", got)
		}
		first.Press(browsertest.Escape)
		first.WaitFor(`document.querySelector("#call-state").dataset.state === "ended"`, "hung up")
	})

	t.Run("SDK inbound API", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Open(h.url + "/phone/")
		browsertest.Eval[bool](tab, `(async () => {
			const sdk = await import("/sdk/crmphone.js");
			window.log = [];
			const phone = await sdk.connect({token: "good-in7"});
			for (const ev of ["offer", "card", "offer_withdrawn", "presence", "tasks_changed"]) {
				phone.addEventListener(ev, (e) => window.log.push(ev + ":" + (e.detail.reason || e.detail.state || e.detail.call_id || "")));
			}
			phone.addEventListener("offer", (e) => { window.lastOffer = e.detail; });
			window.sdkPhone = phone;
			return true;
		})()`)
		tab.WaitFor(`window.sdkPhone.state === "online" && window.sdkPhone.presence.state === "available"`, "the SDK phone online")

		h.offer("in7", "c-in-50", "+15550050", "Eve", nil)
		tab.WaitFor(`window.sdkPhone.offers.has("c-in-50")`, "the offer in phone.offers")
		got := browsertest.Eval[map[string]any](tab, `(() => {
			const d = window.lastOffer;
			return {number: d.number, name: d.name, target: d.target, id: d.offer.id,
				answer: typeof d.offer.answer, reject: typeof d.offer.reject, card: d.offer.card};
		})()`)
		if fmt.Sprint(got) != fmt.Sprint(map[string]any{"number": "+15550050", "name": "Eve", "target": "sales", "id": "c-in-50",
			"answer": "function", "reject": "function", "card": nil}) {
			t.Fatalf("offer event detail = %v", got)
		}
		h.notifyOp("in7", "call.card", map[string]any{"call_id": "c-in-50", "card": map[string]any{"url": "https://crm.example.com/e", "title": "Eve"}})
		tab.WaitFor(`window.sdkPhone.offers.get("c-in-50").card?.url === "https://crm.example.com/e"`, "the card on the Offer")
		rejects := len(h.received("reject"))
		browsertest.Eval[bool](tab, `window.lastOffer.offer.reject().then(() => true)`)
		if got := h.waitReceived("reject", rejects+1); got[rejects].Params["call_id"] != "c-in-50" {
			t.Fatalf("reject params = %v", got[rejects].Params)
		}
		// The server's own offer_withdrawn (rejected) follows the local one: listeners hear it once.
		tab.WaitFor(`!window.sdkPhone.offers.has("c-in-50")`, "the offer gone")

		// Presence: invalid states never leave the browser; a valid one does, and events update the property.
		sets := len(h.received("presence.set"))
		if got := browsertest.Eval[string](tab, `window.sdkPhone.setPresence("ringing").then(() => "sent", (e) => e.code)`); got != "bad_request" {
			t.Fatalf("setPresence(ringing): %q", got)
		}
		browsertest.Eval[bool](tab, `window.sdkPhone.setPresence("away").then(() => true)`)
		if got := h.waitReceived("presence.set", sets+1); len(got) != sets+1 || got[sets].Params["state"] != "away" {
			t.Fatalf("presence.set = %v", got)
		}
		h.presence("in7", "wrap_up", 1767225630000)
		tab.WaitFor(`window.sdkPhone.presence.state === "wrap_up" && window.sdkPhone.presence.until === 1767225630000`, "wrap_up presence")

		// Tasks.
		h.setTasks("in7", map[string]any{"id": "t-70", "number": "+15550070", "reason": "timeout"})
		if got := browsertest.Eval[[]string](tab, `window.sdkPhone.listTasks().then((ts) => ts.map((t) => t.id + " " + t.number))`); strings.Join(got, ",") != "t-70 +15550070" {
			t.Fatalf("listTasks = %v", got)
		}
		browsertest.Eval[bool](tab, `window.sdkPhone.closeTask("t-70").then(() => true)`)
		tab.WaitFor(`window.log.includes("tasks_changed:")`, "tasks_changed")
		if got := browsertest.Eval[string](tab, `window.sdkPhone.closeTask("t-70").then(() => "closed", (e) => e.code)`); got != "unknown_task" {
			t.Fatalf("closing a closed task: %q", got)
		}

		// Closing the phone withdraws what is left and goes offline.
		h.offer("in7", "c-in-51", "+15550051", "", nil)
		tab.WaitFor(`window.sdkPhone.offers.has("c-in-51")`, "the second offer")
		browsertest.Eval[bool](tab, `window.sdkPhone.close(), true`)
		want := "offer:c-in-50,card:c-in-50,offer_withdrawn:rejected,presence:away,presence:wrap_up,tasks_changed:," +
			"offer:c-in-51,offer_withdrawn:disconnected,presence:offline"
		if got := browsertest.Eval[[]string](tab, `window.log`); strings.Join(got, ",") != want {
			t.Fatalf("events:\n got %s\nwant %s", strings.Join(got, ","), want)
		}
	})
}
