package calls_test

import (
	"context"
	"errors"
	"github.com/crmphone/crmphone/controller/calls"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/crmphone/crmphone/ari/aritest"
	"github.com/crmphone/crmphone/controller/calls/callstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var op = calls.Operator{ID: "op-1", SessionID: "s-1"}

func dominant(t *testing.T, samples []int16) float64 {
	t.Helper()
	// The last second: past ringing and any start-up transient.
	if len(samples) > 8000 {
		samples = samples[len(samples)-8000:]
	}
	f, _ := aritest.DominantFrequency(samples, 8000)
	return f
}

func near(f, want float64) bool { return f > want-15 && f < want+15 }

func TestOutboundAnsweredAudioBothWaysThenOperatorHangsUp(t *testing.T) {
	e := newEnv(t, calls.Config{})
	e.pbx.needSim(t)
	e.pbx.sim.SetFarEnd("5551001", aritest.FarEnd{Ring: true, RingAfter: 50 * time.Millisecond, Outcome: aritest.Answer,
		AnswerAfter: 300 * time.Millisecond, Media: aritest.Tone{Frequency: 1000}})
	media := &callstest.Media{ToneHz: 440}
	rec := newRecorder()
	call, err := e.mgr.Dial(context.Background(), op, media, rec, "(555) 1001", "order-42")
	if err != nil {
		t.Fatal(err)
	}
	rec.waitState(t, calls.StateRinging)
	rec.waitState(t, calls.StateAnswered)
	peer, err := e.pbx.sim.WaitPeer(context.Background(), call.FarChannelID())
	if err != nil {
		t.Fatal(err)
	}
	leg := media.Leg(t)
	waitFor(t, "two-way audio", func() bool { return len(peer.Received()) > 8000 && len(leg.Received()) > 8000 })
	if f := dominant(t, peer.Received()); !near(f, 440) {
		t.Errorf("far end heard %.0f Hz, want the operator's 440 Hz", f)
	}
	if f := dominant(t, leg.Received()); !near(f, 1000) {
		t.Errorf("operator heard %.0f Hz, want the far end's 1000 Hz", f)
	}
	if err := call.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	end := rec.waitState(t, calls.StateEnded)
	if end.Cause != calls.CauseLocalHangup {
		t.Fatalf("cause = %q", end.Cause)
	}
	<-call.Done()
	e.pbx.assertClean(t)
	if !leg.Closed.Load() {
		t.Error("media leg not closed")
	}
	r, err := e.store.GetCall(context.Background(), call.ID())
	if err != nil {
		t.Fatal(err)
	}
	if r.Number != "5551001" || r.CRMRef != "order-42" || r.Cause != calls.CauseLocalHangup || r.HangupBy != "operator" ||
		r.RingingAt == nil || r.AnsweredAt == nil || r.EndedAt == nil || r.Codec != "PCMU" || r.MediaStats == "{}" {
		t.Fatalf("record = %+v", r)
	}
	if !r.RingingAt.Before(*r.AnsweredAt) && !r.RingingAt.Equal(*r.AnsweredAt) {
		t.Fatalf("ringing %v after answer %v", r.RingingAt, r.AnsweredAt)
	}
}

func TestOutboundEndings(t *testing.T) {
	tests := []struct {
		name      string
		far       aritest.FarEnd
		ring      time.Duration
		wantCause string
		wantBy    string
		wantState []string
	}{
		{"remote hangup", aritest.FarEnd{Outcome: aritest.Answer, AnswerAfter: 50 * time.Millisecond, HangupAfter: 300 * time.Millisecond},
			0, calls.CauseRemoteHangup, "remote", []string{calls.StateAnswered}},
		{"busy", aritest.FarEnd{Outcome: aritest.Busy, AnswerAfter: 100 * time.Millisecond}, 0, calls.CauseBusy, "remote", nil},
		{"no answer", aritest.FarEnd{Ring: true, Outcome: aritest.NoAnswer}, time.Second, // ARI dial timeouts are whole seconds
			calls.CauseNoAnswer, "remote", []string{calls.StateRinging}},
		{"early media then answer", aritest.FarEnd{Ring: true, Progress: true, ProgressAfter: 50 * time.Millisecond,
			EarlyMedia: aritest.Tone{Frequency: 400}, Outcome: aritest.Answer, AnswerAfter: 400 * time.Millisecond, HangupAfter: 200 * time.Millisecond},
			0, calls.CauseRemoteHangup, "remote", []string{calls.StateRinging, calls.StateEarlyMedia, calls.StateAnswered}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, calls.Config{RingTimeout: tt.ring})
			e.pbx.needSim(t)
			e.pbx.sim.SetFarEnd("5552000", tt.far)
			rec := newRecorder()
			call, err := e.mgr.Dial(context.Background(), op, &callstest.Media{ToneHz: 440}, rec, "5552000", "")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.wantState {
				rec.waitState(t, s)
			}
			end := rec.waitState(t, calls.StateEnded)
			if end.Cause != tt.wantCause {
				t.Fatalf("cause = %q, want %q (states %v)", end.Cause, tt.wantCause, rec.seen())
			}
			<-call.Done()
			e.pbx.assertClean(t)
			r, _ := e.store.GetCall(context.Background(), call.ID())
			if r.Cause != tt.wantCause || r.HangupBy != tt.wantBy {
				t.Fatalf("record cause %q by %q", r.Cause, r.HangupBy)
			}
		})
	}
}

func TestEarlyMediaReachesOperatorBeforeAnswer(t *testing.T) {
	e := newEnv(t, calls.Config{})
	e.pbx.needSim(t)
	e.pbx.sim.SetFarEnd("5553000", aritest.FarEnd{Ring: true, Progress: true, ProgressAfter: 20 * time.Millisecond,
		EarlyMedia: aritest.Tone{Frequency: 400}, Outcome: aritest.NoAnswer})
	media := &callstest.Media{ToneHz: 440}
	rec := newRecorder()
	call, err := e.mgr.Dial(context.Background(), op, media, rec, "5553000", "")
	if err != nil {
		t.Fatal(err)
	}
	rec.waitState(t, calls.StateEarlyMedia)
	waitFor(t, "early media", func() bool { return len(media.Leg(t).Received()) > 8000 })
	if f := dominant(t, media.Leg(t).Received()); !near(f, 400) {
		t.Fatalf("early media at %.0f Hz, want 400", f)
	}
	call.Hangup(context.Background())
	if end := rec.waitState(t, calls.StateEnded); end.Cause != calls.CauseCancelled {
		t.Fatalf("hangup before answer: cause %q, want cancelled", end.Cause)
	}
	<-call.Done()
	e.pbx.assertClean(t)
}

func TestMuteHoldDTMF(t *testing.T) {
	e := newEnv(t, calls.Config{})
	e.pbx.needSim(t)
	e.pbx.sim.SetFarEnd("5554000", aritest.FarEnd{Outcome: aritest.Answer, AnswerAfter: 20 * time.Millisecond})
	media := &callstest.Media{ToneHz: 440}
	rec := newRecorder()
	call, err := e.mgr.Dial(context.Background(), op, media, rec, "5554000", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Hold(context.Background(), true); err != nil && !errors.Is(err, calls.ErrInvalidState) {
		t.Fatalf("hold before answer: %v", err)
	}
	rec.waitState(t, calls.StateAnswered)
	peer, _ := e.pbx.sim.WaitPeer(context.Background(), call.FarChannelID())
	waitFor(t, "audio", func() bool { return len(peer.Received()) > 4000 })
	if err := call.Mute(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let in-flight packets land
	mark := len(peer.Received())
	waitFor(t, "audio while muted", func() bool { return len(peer.Received()) > mark+4000 })
	if rms := aritest.RMS(peer.Received()[mark:]); rms > 50 {
		t.Fatalf("far end heard RMS %.0f while muted", rms)
	}
	if err := call.Mute(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if err := call.SendDTMF(context.Background(), "12#"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "DTMF at the far end", func() bool { return peer.DTMFReceived() == "12#" })
	for _, bad := range []string{"", "12&", "1/2", "x", "123456789012345678901234567890123"} {
		if err := call.SendDTMF(context.Background(), bad); !errors.Is(err, calls.ErrInvalidDTMF) {
			t.Errorf("DTMF %q: %v", bad, err)
		}
	}
	if err := call.Hold(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	rec.waitHeld(t, true)
	// Held: the far end hears music on hold, nothing of the operator.
	mark = len(peer.Received())
	waitFor(t, "audio while held", func() bool { return len(peer.Received()) > mark+8000 })
	if f, _ := aritest.DominantFrequency(peer.Received()[len(peer.Received())-4000:], 8000); f < aritest.MOHFrequency-15 || f > aritest.MOHFrequency+15 {
		t.Fatalf("held far end heard %.0f Hz, want music on hold (%.0f Hz)", f, aritest.MOHFrequency)
	}
	if len(e.pbx.sim.Bridges()) != 1 {
		t.Fatalf("bridges: %+v", e.pbx.sim.Bridges())
	}
	if err := call.Hold(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	rec.waitHeld(t, false)
	mark = len(peer.Received())
	waitFor(t, "audio after unhold", func() bool { return len(peer.Received()) > mark+8000 })
	if f, _ := aritest.DominantFrequency(peer.Received()[len(peer.Received())-4000:], 8000); f < 425 || f > 455 {
		t.Fatalf("after unhold the far end heard %.0f Hz, want the operator's 440 Hz", f)
	}
	call.Hangup(context.Background())
	<-call.Done()
	e.pbx.assertClean(t)
}

func TestRefusedNumbersNeverReachAsterisk(t *testing.T) {
	e := newEnv(t, calls.Config{})
	restricted := calls.Operator{ID: "op-2", SessionID: "s-2", AllowsDial: func(n string) bool { return n == "5550000" }}
	for _, n := range []string{"12&34", "100/200", "1001@evil", "5\x00", "PJSIP/1", "", "5551234"} {
		_, err := e.mgr.Dial(context.Background(), restricted, &callstest.Media{}, newRecorder(), n, "")
		if !errors.Is(err, calls.ErrInvalidNumber) && !errors.Is(err, calls.ErrNotAllowed) {
			t.Errorf("%q: %v", n, err)
		}
	}
	if e.mgr.Active() != 0 {
		t.Fatal("a refused number created a call")
	}
	if e.pbx.sim != nil {
		for _, r := range e.pbx.sim.Requests() {
			if r.Method == "POST" {
				t.Fatalf("a refused number reached Asterisk: %s %s", r.Method, r.Path)
			}
		}
	}
}

func TestOneCallPerSession(t *testing.T) {
	e := newEnv(t, calls.Config{})
	e.pbx.needSim(t)
	e.pbx.sim.SetFarEnd("5555000", aritest.FarEnd{Ring: true, Outcome: aritest.NoAnswer})
	rec := newRecorder()
	call, err := e.mgr.Dial(context.Background(), op, &callstest.Media{}, rec, "5555000", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.Dial(context.Background(), op, &callstest.Media{}, rec, "5555000", ""); !errors.Is(err, calls.ErrBusyHere) {
		t.Fatalf("second call: %v", err)
	}
	if _, err := e.mgr.Get("other-session", call.ID()); !errors.Is(err, calls.ErrUnknownCall) {
		t.Fatalf("another session reached the call: %v", err)
	}
	call.Hangup(context.Background())
	<-call.Done()
	e.pbx.assertClean(t)
}

func TestBrowserGoneHangsUpAfterGrace(t *testing.T) {
	e := newEnv(t, calls.Config{DisconnectGrace: 200 * time.Millisecond})
	e.pbx.needSim(t)
	e.pbx.sim.SetFarEnd("5556000", aritest.FarEnd{Outcome: aritest.Answer, AnswerAfter: 20 * time.Millisecond})
	rec := newRecorder()
	call, err := e.mgr.Dial(context.Background(), op, &callstest.Media{}, rec, "5556000", "")
	if err != nil {
		t.Fatal(err)
	}
	rec.waitState(t, calls.StateAnswered)
	peer, _ := e.pbx.sim.WaitPeer(context.Background(), call.FarChannelID())
	e.mgr.SessionClosed(op.SessionID)
	<-call.Done()
	if !peer.HungUp() {
		t.Fatal("far end not hung up after the grace period")
	}
	e.pbx.assertClean(t)
	r, _ := e.store.GetCall(context.Background(), call.ID())
	if r.Cause != calls.CauseLocalHangup || r.HangupBy != "system" {
		t.Fatalf("record: cause %q by %q", r.Cause, r.HangupBy)
	}
}

func TestReconcileRemovesOrphans(t *testing.T) {
	e := newEnv(t, calls.Config{})
	e.pbx.needSim(t)
	ctx := context.Background()
	// Leftovers of a previous controller: a bridge and a channel named like ours.
	if _, err := e.pbx.client.CreateBridge(ctx, bridgeParams("crm-b-old")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pbx.client.ExternalMedia(ctx, externalMediaParams("crm-m-old")); err != nil {
		t.Fatal(err)
	}
	if err := e.mgr.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	e.pbx.assertClean(t)
}

func TestSelfTestEcho(t *testing.T) {
	// Runs against a real Asterisk too: 9901 is asterisk-conf's echo extension.
	e := newEnv(t, calls.Config{})
	media := &callstest.Media{ToneHz: 700}
	rec := newRecorder()
	call, err := e.mgr.Dial(context.Background(), op, media, rec, "9901", "")
	if err != nil {
		t.Fatal(err)
	}
	rec.waitState(t, calls.StateAnswered)
	waitFor(t, "echo", func() bool { return len(media.Leg(t).Received()) > 8000 })
	if f := dominant(t, media.Leg(t).Received()); !near(f, 700) {
		t.Fatalf("echo returned %.0f Hz, want 700", f)
	}
	call.Hangup(context.Background())
	<-call.Done()
	e.pbx.assertClean(t)
}
