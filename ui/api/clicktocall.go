package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/crmphone/crmphone/controller/calls"
)

// ClickToCall asks an operator's open softphone tabs to dial a number (the
// signaling event call.request) and says how many tabs were asked.
type ClickToCall interface {
	RequestCall(ctx context.Context, operatorID, number, crmRef string) (tabs int, err error)
}

// MaxCRMRefLen bounds crm_ref, as the call manager does.
const MaxCRMRefLen = 128

// ClickToCallAccepted is the answer of POST /operators/{id}/calls.
type ClickToCallAccepted struct {
	OperatorID string `json:"operator_id"`
	Number     string `json:"number"` // normalized
	CRMRef     string `json:"crm_ref"`
	Tabs       int    `json:"tabs"` // tabs asked to dial
}

// clickToCallInput is the body of POST /operators/{id}/calls.
type clickToCallInput struct {
	Number string `json:"number"`
	CRMRef string `json:"crm_ref"`
}

func (h *handlers) requestCall(c echo.Context) error {
	if h.ClickToCall == nil {
		return notImplemented(c, "click-to-call")
	}
	var in clickToCallInput
	if p := readJSON(c, &in); p != nil {
		return p.write(c)
	}
	opID := param(c, "id")
	fields := map[string]string{}
	if why := checkText(opID, MaxOperatorIDLen); why != "" {
		fields["id"] = why
	}
	number, err := calls.NormalizeNumber(in.Number)
	if err != nil {
		// The message only describes the client's own input.
		fields["number"] = strings.TrimPrefix(err.Error(), calls.ErrInvalidNumber.Error()+": ")
	}
	switch {
	case len(in.CRMRef) > MaxCRMRefLen:
		fields["crm_ref"] = "must be at most " + strconv.Itoa(MaxCRMRefLen) + " bytes"
	case strings.ContainsFunc(in.CRMRef, unicode.IsControl):
		fields["crm_ref"] = "must not contain control characters"
	}
	if len(fields) > 0 {
		return validationFailed(c, "invalid call request", fields)
	}
	tabs, err := h.ClickToCall.RequestCall(c.Request().Context(), opID, number, in.CRMRef)
	if err != nil {
		return h.internal(c, "request call", err)
	}
	k, _ := KeyFrom(c)
	h.Log.Info("api: click-to-call", "operator", opID, "tabs", tabs, "key", k.ID)
	if tabs == 0 {
		return writeError(c, http.StatusConflict, "operator_offline", "the operator has no open softphone tab", nil)
	}
	return c.JSON(http.StatusAccepted, ClickToCallAccepted{OperatorID: opID, Number: number, CRMRef: in.CRMRef, Tabs: tabs})
}
