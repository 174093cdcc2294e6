// Package api is crmphone's REST API for the CRM, mounted under /api/v1 and
// authenticated with API keys (Authorization: Bearer crmk_...). openapi.json,
// served at /api/v1/openapi.json, describes it and the webhook payloads; a
// test keeps the two in step.
package api

import (
	"context"
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/crmphone/crmphone/controller/agents"
	"github.com/crmphone/crmphone/controller/apikeys"
	"github.com/crmphone/crmphone/controller/store"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI document served at /api/v1/openapi.json.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// CallStore reads call records.
type CallStore interface {
	GetCall(ctx context.Context, id string) (store.Call, error)
	ListCallsPage(ctx context.Context, f store.CallPageFilter) ([]store.Call, *store.CallCursor, error)
}

// OperatorStore lists the operators crmphone knows.
type OperatorStore interface {
	ListOperators(ctx context.Context) ([]store.Operator, error)
}

// Presence tells who is online now.
type Presence interface {
	Online(ctx context.Context) ([]agents.Entry, error)
}

// KeyVerifier checks API keys (apikeys.Manager).
type KeyVerifier interface {
	Verify(ctx context.Context, key string) (apikeys.Key, error)
}

// Deps are what the API serves from. Targets, Tasks and ClickToCall may be
// nil: their endpoints then answer 501 not_implemented.
type Deps struct {
	Calls       CallStore
	Operators   OperatorStore
	Presence    Presence
	Keys        KeyVerifier
	Targets     TargetStore
	Tasks       TaskStore
	TaskEvents  TaskEvents // optional: told of tasks closed through the API
	ClickToCall ClickToCall
	Log         *slog.Logger
}

type handlers struct{ Deps }

// Register mounts the API on e and returns the authenticated /api/v1 group,
// so that later endpoints join it with the same authentication and error
// format; add them to openapi.json too.
func Register(e *echo.Echo, d Deps) *echo.Group {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	h := &handlers{d}
	// The description is public: it holds no data.
	e.GET(Prefix+"/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPI)
	})
	g := e.Group(Prefix)
	g.Use(h.authenticate)
	// Group.Use routes unknown paths of the group to echo's 404; answer those
	// in the API's error format instead.
	notFound := func(c echo.Context) error {
		return writeError(c, http.StatusNotFound, "not_found", "no such endpoint", nil)
	}
	g.RouteNotFound("", notFound)
	g.RouteNotFound("/*", notFound)
	g.GET("/calls", h.listCalls)
	g.GET("/calls/:id", h.getCall)
	g.GET("/operators", h.listOperators)
	g.POST("/operators/:id/calls", h.requestCall)
	g.GET("/targets", h.listTargets)
	g.GET("/targets/:id", h.getTarget)
	g.PUT("/targets/:id", h.putTarget)
	g.DELETE("/targets/:id", h.deleteTarget)
	g.GET("/tasks", h.listTasks)
	g.POST("/tasks/:id/close", h.closeTask)
	return g
}

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong; Fields names each invalid parameter.
type ErrorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func writeError(c echo.Context, status int, code, msg string, fields map[string]string) error {
	return c.JSON(status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg, Fields: fields}})
}

func validationFailed(c echo.Context, msg string, fields map[string]string) error {
	return writeError(c, http.StatusUnprocessableEntity, "validation_failed", msg, fields)
}

func notImplemented(c echo.Context, what string) error {
	return writeError(c, http.StatusNotImplemented, "not_implemented", what+" is not available on this server", nil)
}

func (h *handlers) internal(c echo.Context, what string, err error) error {
	h.Log.Error("api: "+what, "err", err, "path", c.Path())
	return writeError(c, http.StatusInternalServerError, "internal_error", "internal error", nil)
}

const keyContext = "crmphone.api_key"

// KeyFrom returns the API key that authenticated the request.
func KeyFrom(c echo.Context) (apikeys.Key, bool) {
	k, ok := c.Get(keyContext).(apikeys.Key)
	return k, ok
}

// authenticate admits requests with a valid key. Clients learn only that
// authentication failed; the reason goes to the log, without the key.
func (h *handlers) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		key, err := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
		var k apikeys.Key
		if err == nil {
			k, err = h.Keys.Verify(c.Request().Context(), key)
		}
		if err != nil {
			code := apikeys.Code(err)
			if code == "error" {
				return h.internal(c, "verify api key", err)
			}
			h.Log.Info("api: authentication failed", "reason", code, "remote", c.RealIP())
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="crmphone"`)
			return writeError(c, http.StatusUnauthorized, "unauthorized", "a valid API key is required", nil)
		}
		c.Set(keyContext, k)
		return next(c)
	}
}

func bearer(header string) (string, error) {
	if header == "" {
		return "", apikeys.ErrMissing
	}
	scheme, key, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return "", apikeys.ErrMalformed
	}
	return strings.TrimSpace(key), nil
}

// Call is a call as the API shows it.
type Call struct {
	ID         string     `json:"id"`
	Direction  string     `json:"direction"`
	OperatorID string     `json:"operator_id"`
	Number     string     `json:"number"`
	CRMRef     string     `json:"crm_ref"`
	State      string     `json:"state"`
	Cause      string     `json:"cause"`
	HangupBy   string     `json:"hangup_by"`
	Codec      string     `json:"codec"`
	CreatedAt  time.Time  `json:"created_at"`
	RingingAt  *time.Time `json:"ringing_at"`
	AnsweredAt *time.Time `json:"answered_at"`
	EndedAt    *time.Time `json:"ended_at"`
	DurationS  *int64     `json:"duration_s"` // connected seconds; null until ended
}

// CallPage is one page of GET /calls.
type CallPage struct {
	Items      []Call `json:"items"`
	NextCursor string `json:"next_cursor"` // empty on the last page
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func callOf(c store.Call) Call {
	out := Call{ID: c.ID, Direction: c.Direction, OperatorID: c.OperatorID, Number: c.Number, CRMRef: c.CRMRef,
		State: c.State, Cause: c.Cause, HangupBy: c.HangupBy, Codec: c.Codec, CreatedAt: c.CreatedAt.UTC(),
		RingingAt: utc(c.RingingAt), AnsweredAt: utc(c.AnsweredAt), EndedAt: utc(c.EndedAt)}
	if c.EndedAt != nil {
		var d int64
		if c.AnsweredAt != nil && c.EndedAt.After(*c.AnsweredAt) {
			d = int64(c.EndedAt.Sub(*c.AnsweredAt).Round(time.Second) / time.Second)
		}
		out.DurationS = &d
	}
	return out
}

func (h *handlers) listCalls(c echo.Context) error {
	f, fields := parseCallFilter(c.QueryParams())
	if len(fields) > 0 {
		return writeError(c, http.StatusUnprocessableEntity, "validation_failed", "invalid query parameters", fields)
	}
	calls, next, err := h.Calls.ListCallsPage(c.Request().Context(), f)
	if err != nil {
		return h.internal(c, "list calls", err)
	}
	page := CallPage{Items: make([]Call, 0, len(calls))}
	for _, call := range calls {
		page.Items = append(page.Items, callOf(call))
	}
	if next != nil {
		page.NextCursor = encodeCursor(*next)
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) getCall(c echo.Context) error {
	call, err := h.Calls.GetCall(c.Request().Context(), c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return writeError(c, http.StatusNotFound, "not_found", "call not found", nil)
	}
	if err != nil {
		return h.internal(c, "get call", err)
	}
	return c.JSON(http.StatusOK, callOf(call))
}

// Operator is an operator with its presence.
type Operator struct {
	ID          string     `json:"id"`
	DisplayName string     `json:"display_name"`
	Extension   string     `json:"extension"`
	Online      bool       `json:"online"`
	Sessions    int        `json:"sessions"`     // open softphone tabs
	OnlineSince *time.Time `json:"online_since"` // null when offline
	LastSeenAt  *time.Time `json:"last_seen_at"` // null when never recorded
}

// OperatorList is the answer of GET /operators.
type OperatorList struct {
	Items []Operator `json:"items"`
}

func (h *handlers) listOperators(c echo.Context) error {
	ctx := c.Request().Context()
	known, err := h.Operators.ListOperators(ctx)
	if err != nil {
		return h.internal(c, "list operators", err)
	}
	online, err := h.Presence.Online(ctx)
	if err != nil {
		return h.internal(c, "presence", err)
	}
	byID := make(map[string]*Operator, len(known))
	list := make([]Operator, 0, len(known))
	for _, op := range known {
		list = append(list, Operator{ID: op.ID, DisplayName: op.DisplayName, Extension: op.Extension, LastSeenAt: utc(&op.LastSeenAt)})
	}
	for i := range list {
		byID[list[i].ID] = &list[i]
	}
	var extra []Operator
	for _, e := range online {
		since := e.Since.UTC()
		if op := byID[e.OperatorID]; op != nil {
			op.Online, op.Sessions, op.OnlineSince = true, e.Sessions, &since
			continue
		}
		// Online on another controller before this one stored it.
		extra = append(extra, Operator{ID: e.OperatorID, DisplayName: e.DisplayName, Online: true, Sessions: e.Sessions, OnlineSince: &since})
	}
	list = append(list, extra...)
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return c.JSON(http.StatusOK, OperatorList{Items: list})
}
