package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/crmphone/crmphone/controller/store"
)

// TargetStore keeps the routing targets; *store.Store satisfies it.
type TargetStore interface {
	ListRoutingTargets(ctx context.Context) ([]store.RoutingTarget, error)
	GetRoutingTarget(ctx context.Context, id string) (store.RoutingTarget, error)
	PutRoutingTarget(ctx context.Context, t store.RoutingTarget) error
	DeleteRoutingTarget(ctx context.Context, id string) error
}

// Limits and defaults of routing targets.
const (
	MaxTargetIDLen        = 64
	MaxTargetNameLen      = 128
	MaxTargetMembers      = 200
	MaxOperatorIDLen      = 128
	MaxDialplanNameLen    = 80
	MaxTimeoutS           = 600
	DefaultRingTimeoutS   = 30
	DefaultMemberTimeoutS = 15
)

const (
	targetIDPunct = "_.+-"
	dialplanPunct = "_+*#.-" // safe in an Asterisk context or extension name
)

var (
	strategies   = []string{"ring_all", "longest_idle", "round_robin"}
	noAnswers    = []string{"continue", "hangup"}
	hangupCauses = []string{"normal", "busy", "congestion", "no_answer", "timeout", "rejected", "unallocated",
		"normal_unspecified", "interworking"} // ARI's DELETE /channels reasons
)

// RoutingTarget is a routing target as the API shows it: the stored one.
type RoutingTarget = store.RoutingTarget

// RoutingTargetList is the answer of GET /targets.
type RoutingTargetList struct {
	Items []RoutingTarget `json:"items"`
}

// targetInput is the body of PUT /targets/{id}: a target without its
// timestamps. Pointers tell an absent field (default) from a zero one.
type targetInput struct {
	ID               *string  `json:"id"`
	Name             string   `json:"name"`
	Members          []string `json:"members"`
	Strategy         string   `json:"strategy"`
	RingTimeoutS     *int     `json:"ring_timeout_s"`
	MemberTimeoutS   *int     `json:"member_timeout_s"`
	OnNoAnswer       string   `json:"on_no_answer"`
	ContinueContext  string   `json:"continue_context"`
	ContinueExten    string   `json:"continue_exten"`
	ContinuePriority *int     `json:"continue_priority"`
	HangupCause      string   `json:"hangup_cause"`
}

// targetOf shows times in UTC, like the rest of the API.
func targetOf(t store.RoutingTarget) RoutingTarget {
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t
}

func oneOf(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return ""
		}
	}
	return "must be one of " + strings.Join(allowed, ", ")
}

// validateTarget turns a PUT body into the target to store; fields maps each
// invalid field to what it must be.
func validateTarget(id string, in targetInput) (store.RoutingTarget, map[string]string) {
	fields := map[string]string{}
	check := func(name, why string) {
		if why != "" {
			fields[name] = why
		}
	}
	check("id", checkCharset(id, MaxTargetIDLen, targetIDPunct))
	if in.ID != nil && *in.ID != id {
		fields["id"] = "must match the id in the path"
	}
	if n := len([]rune(in.Name)); n > MaxTargetNameLen {
		fields["name"] = "must be at most " + strconv.Itoa(MaxTargetNameLen) + " characters"
	}
	members := make([]string, 0, len(in.Members))
	if len(in.Members) > MaxTargetMembers {
		fields["members"] = "must have at most " + strconv.Itoa(MaxTargetMembers) + " operators"
	}
	seen := make(map[string]bool, len(in.Members))
	for i, m := range in.Members {
		name := "members[" + strconv.Itoa(i) + "]"
		if why := checkText(m, MaxOperatorIDLen); why != "" {
			fields[name] = why
		} else if seen[m] {
			fields[name] = "duplicates another member"
		}
		seen[m] = true
		members = append(members, m)
	}
	check("strategy", oneOf(in.Strategy, strategies))
	timeout := func(name string, v *int, def int) int {
		if v == nil {
			return def
		}
		if *v < 1 || *v > MaxTimeoutS {
			fields[name] = "must be 1.." + strconv.Itoa(MaxTimeoutS)
		}
		return *v
	}
	t := store.RoutingTarget{ID: id, Name: in.Name, Members: members, Strategy: in.Strategy,
		RingTimeoutS:   timeout("ring_timeout_s", in.RingTimeoutS, DefaultRingTimeoutS),
		MemberTimeoutS: timeout("member_timeout_s", in.MemberTimeoutS, DefaultMemberTimeoutS),
		OnNoAnswer:     in.OnNoAnswer, ContinueContext: in.ContinueContext, ContinueExten: in.ContinueExten,
		HangupCause: in.HangupCause}
	if t.OnNoAnswer == "" {
		t.OnNoAnswer = "continue"
	}
	check("on_no_answer", oneOf(t.OnNoAnswer, noAnswers))
	if in.ContinueContext != "" {
		check("continue_context", checkCharset(in.ContinueContext, MaxDialplanNameLen, dialplanPunct))
	}
	if in.ContinueExten != "" {
		check("continue_exten", checkCharset(in.ContinueExten, MaxDialplanNameLen, dialplanPunct))
	}
	if in.ContinuePriority != nil {
		t.ContinuePriority = *in.ContinuePriority
		switch {
		case *in.ContinuePriority < 1:
			fields["continue_priority"] = "must be at least 1"
		case in.ContinueContext == "" && in.ContinueExten == "":
			// The router ignores a priority without a place to continue at.
			fields["continue_priority"] = "needs continue_context or continue_exten"
		}
	}
	if in.HangupCause != "" {
		check("hangup_cause", oneOf(in.HangupCause, hangupCauses))
	}
	// Settings of the other on_no_answer mode would be stored and ignored.
	switch t.OnNoAnswer {
	case "continue":
		if in.HangupCause != "" {
			fields["hangup_cause"] = "only with on_no_answer hangup"
		}
	case "hangup":
		for name, set := range map[string]bool{"continue_context": in.ContinueContext != "",
			"continue_exten": in.ContinueExten != "", "continue_priority": in.ContinuePriority != nil} {
			if set {
				fields[name] = "only with on_no_answer continue"
			}
		}
	}
	if len(fields) == 0 {
		fields = nil
	}
	return t, fields
}

func (h *handlers) listTargets(c echo.Context) error {
	if h.Targets == nil {
		return notImplemented(c, "routing targets")
	}
	all, err := h.Targets.ListRoutingTargets(c.Request().Context())
	if err != nil {
		return h.internal(c, "list routing targets", err)
	}
	list := RoutingTargetList{Items: make([]RoutingTarget, 0, len(all))}
	for _, t := range all {
		list.Items = append(list.Items, targetOf(t))
	}
	return c.JSON(http.StatusOK, list)
}

func (h *handlers) getTarget(c echo.Context) error {
	if h.Targets == nil {
		return notImplemented(c, "routing targets")
	}
	t, err := h.Targets.GetRoutingTarget(c.Request().Context(), param(c, "id"))
	if errors.Is(err, store.ErrNotFound) {
		return writeError(c, http.StatusNotFound, "not_found", "routing target not found", nil)
	}
	if err != nil {
		return h.internal(c, "get routing target", err)
	}
	return c.JSON(http.StatusOK, targetOf(t))
}

// putTarget creates (201) or replaces (200) a target and answers it as stored.
func (h *handlers) putTarget(c echo.Context) error {
	if h.Targets == nil {
		return notImplemented(c, "routing targets")
	}
	var in targetInput
	if p := readJSON(c, &in); p != nil {
		return p.write(c)
	}
	t, fields := validateTarget(param(c, "id"), in)
	if fields != nil {
		return validationFailed(c, "invalid routing target", fields)
	}
	ctx := c.Request().Context()
	status := http.StatusOK
	if _, err := h.Targets.GetRoutingTarget(ctx, t.ID); errors.Is(err, store.ErrNotFound) {
		status = http.StatusCreated
	} else if err != nil {
		return h.internal(c, "get routing target", err)
	}
	if err := h.Targets.PutRoutingTarget(ctx, t); err != nil {
		return h.internal(c, "put routing target", err)
	}
	stored, err := h.Targets.GetRoutingTarget(ctx, t.ID)
	if err != nil {
		return h.internal(c, "get routing target", err)
	}
	k, _ := KeyFrom(c)
	h.Log.Info("api: routing target saved", "target", t.ID, "created", status == http.StatusCreated, "key", k.ID)
	return c.JSON(status, targetOf(stored))
}

func (h *handlers) deleteTarget(c echo.Context) error {
	if h.Targets == nil {
		return notImplemented(c, "routing targets")
	}
	id := param(c, "id")
	err := h.Targets.DeleteRoutingTarget(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return writeError(c, http.StatusNotFound, "not_found", "routing target not found", nil)
	}
	if err != nil {
		return h.internal(c, "delete routing target", err)
	}
	k, _ := KeyFrom(c)
	h.Log.Info("api: routing target deleted", "target", id, "key", k.ID)
	return c.NoContent(http.StatusNoContent)
}
