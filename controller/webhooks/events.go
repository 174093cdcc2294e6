package webhooks

import (
	"time"

	"github.com/crmphone/crmphone/controller/store"
)

// Event types sent to the CRM.
const (
	TypeCallOffered  = "call.offered"
	TypeCallAnswered = "call.answered"
	TypeCallEnded    = "call.ended"
	TypeCallMissed   = "call.missed"
	TypeTaskClosed   = "task.closed"
)

// Event is something to tell the CRM. Key orders delivery: events with the
// same key are delivered one after another in Enqueue order; the call id is
// the key of every call event.
type Event struct {
	Type string
	Key  string
	Data any       // marshalled to JSON as the envelope's data
	At   time.Time // when it happened; zero: when enqueued
}

// Envelope is the JSON body of every webhook request.
type Envelope struct {
	ID        string    `json:"id"`         // the delivery id, also in X-Crmphone-Delivery; the same on every retry
	Type      string    `json:"type"`       // one of the Type* constants
	CreatedAt time.Time `json:"created_at"` // when the event happened
	Data      any       `json:"data"`
}

// CallInfo is what every call event says about the call.
type CallInfo struct {
	CallID     string `json:"call_id"`
	Direction  string `json:"direction"` // inbound | outbound
	OperatorID string `json:"operator_id"`
	Number     string `json:"number"`  // the far party's number
	CRMRef     string `json:"crm_ref"` // the CRM's reference given when dialing, may be empty
}

// CallOffered: a call rings an operator (inbound) or is being dialed (outbound).
type CallOffered struct {
	CallInfo
	OfferedAt time.Time `json:"offered_at"`
}

// CallAnswered: the call is connected.
type CallAnswered struct {
	CallInfo
	AnsweredAt time.Time `json:"answered_at"`
}

// CallEnded: the call is over. DurationS counts connected seconds (answer to
// hang-up), 0 for calls never answered.
type CallEnded struct {
	CallInfo
	AnsweredAt *time.Time `json:"answered_at"` // null when never answered
	EndedAt    time.Time  `json:"ended_at"`
	DurationS  int64      `json:"duration_s"`
	Cause      string     `json:"cause"`
	HangupBy   string     `json:"hangup_by"` // operator | remote | system
}

// CallMissed: an inbound call nobody answered.
type CallMissed struct {
	CallInfo
	Reason   string    `json:"reason"` // e.g. no_answer, busy, caller_abandoned, no_operator
	MissedAt time.Time `json:"missed_at"`
}

// TaskClosed: a callback task was closed.
type TaskClosed struct {
	TaskID     string    `json:"task_id"`
	CallID     string    `json:"call_id"` // the call that closed it, may be empty
	OperatorID string    `json:"operator_id"`
	Result     string    `json:"result"`
	ClosedAt   time.Time `json:"closed_at"`
}

func callInfo(c store.Call) CallInfo {
	return CallInfo{CallID: c.ID, Direction: c.Direction, OperatorID: c.OperatorID, Number: c.Number, CRMRef: c.CRMRef}
}

func orNow(t *time.Time) time.Time {
	if t == nil {
		return time.Now()
	}
	return *t
}

// Offered builds call.offered from a call record, at its creation (inbound:
// when it started ringing, if known).
func Offered(c store.Call) Event {
	at := c.CreatedAt
	if c.Direction == "inbound" && c.RingingAt != nil {
		at = *c.RingingAt
	}
	return Event{Type: TypeCallOffered, Key: c.ID, At: at, Data: CallOffered{CallInfo: callInfo(c), OfferedAt: at}}
}

// Answered builds call.answered from a call record with answered_at set.
func Answered(c store.Call) Event {
	at := orNow(c.AnsweredAt)
	return Event{Type: TypeCallAnswered, Key: c.ID, At: at, Data: CallAnswered{CallInfo: callInfo(c), AnsweredAt: at}}
}

// Ended builds call.ended from a call record with ended_at, cause and hangup_by set.
func Ended(c store.Call) Event {
	end := orNow(c.EndedAt)
	var dur int64
	if c.AnsweredAt != nil && end.After(*c.AnsweredAt) {
		dur = int64(end.Sub(*c.AnsweredAt).Round(time.Second) / time.Second)
	}
	return Event{Type: TypeCallEnded, Key: c.ID, At: end, Data: CallEnded{
		CallInfo: callInfo(c), AnsweredAt: c.AnsweredAt, EndedAt: end, DurationS: dur, Cause: c.Cause, HangupBy: c.HangupBy,
	}}
}

// Missed builds call.missed for a call nobody answered.
func Missed(c store.Call, reason string) Event {
	at := orNow(c.EndedAt)
	return Event{Type: TypeCallMissed, Key: c.ID, At: at, Data: CallMissed{CallInfo: callInfo(c), Reason: reason, MissedAt: at}}
}

// Closed builds task.closed, ordered with its call's events when it has one.
func Closed(t TaskClosed) Event {
	key := t.CallID
	if key == "" {
		key = "task:" + t.TaskID
	}
	if t.ClosedAt.IsZero() {
		t.ClosedAt = time.Now()
	}
	return Event{Type: TypeTaskClosed, Key: key, At: t.ClosedAt, Data: t}
}
