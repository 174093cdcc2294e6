package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/crmphone/crmphone/controller/store"
)

// TaskStore keeps the callback tasks; *store.Store satisfies it.
type TaskStore interface {
	ListTasksPage(ctx context.Context, f store.TaskPageFilter) ([]store.CallbackTask, *store.TaskCursor, error)
	GetTask(ctx context.Context, id string) (store.CallbackTask, error)
	CloseTask(ctx context.Context, id, by, reason, callID string) error
}

// TaskEvents learns of tasks closed through the API, to send the task.closed
// webhook and tell the operators' tabs (tasks.changed).
type TaskEvents interface {
	TaskClosed(ctx context.Context, t store.CallbackTask, by string)
}

// MaxClosedByLen bounds who closed a task.
const MaxClosedByLen = 128

// CallbackTask is a callback task as the API shows it.
type CallbackTask struct {
	ID           string     `json:"id"`
	Number       string     `json:"number"`
	Name         string     `json:"name"`
	Target       string     `json:"target"`
	CallID       string     `json:"call_id"`
	Reason       string     `json:"reason"`
	CreatedAt    time.Time  `json:"created_at"`
	ClosedAt     *time.Time `json:"closed_at"`
	ClosedBy     string     `json:"closed_by"`
	ClosedReason string     `json:"closed_reason"`
	ClosedCallID string     `json:"closed_call_id"`
}

// TaskPage is one page of GET /tasks.
type TaskPage struct {
	Items      []CallbackTask `json:"items"`
	NextCursor string         `json:"next_cursor"` // empty on the last page
}

// taskCloseInput is the body of POST /tasks/{id}/close.
type taskCloseInput struct {
	By string `json:"by"`
}

func taskOf(t store.CallbackTask) CallbackTask {
	return CallbackTask{ID: t.ID, Number: t.Number, Name: t.Name, Target: t.TargetID, CallID: t.CallID, Reason: t.Reason,
		CreatedAt: t.CreatedAt.UTC(), ClosedAt: utc(t.ClosedAt), ClosedBy: t.ClosedBy, ClosedReason: t.ClosedReason,
		ClosedCallID: t.ClosedCall}
}

var taskStates = map[string]bool{store.TasksOpen: true, store.TasksClosed: true, store.TasksAll: true}

// parseTaskFilter reads GET /tasks' query; fields maps each invalid
// parameter to what it must be.
func parseTaskFilter(q url.Values) (store.TaskPageFilter, map[string]string) {
	f := store.TaskPageFilter{State: store.TasksOpen, Limit: DefaultLimit}
	fields := map[string]string{}
	if v := q.Get("target"); len(v) > MaxOperatorIDLen {
		fields["target"] = "must be at most " + strconv.Itoa(MaxOperatorIDLen) + " characters"
	} else {
		f.TargetID = v
	}
	if v := q.Get("state"); v != "" {
		if !taskStates[v] {
			fields["state"] = "must be open, closed or all"
		}
		f.State = v
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxTaskPage {
			fields["limit"] = "must be 1.." + strconv.Itoa(store.MaxTaskPage)
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		cur, ok := decodeCursor(v)
		if !ok {
			fields["cursor"] = "must be a next_cursor returned by this endpoint"
		}
		f.After = &store.TaskCursor{CreatedAt: cur.CreatedAt, ID: cur.ID}
	}
	if len(fields) == 0 {
		fields = nil
	}
	return f, fields
}

func (h *handlers) listTasks(c echo.Context) error {
	if h.Tasks == nil {
		return notImplemented(c, "callback tasks")
	}
	f, fields := parseTaskFilter(c.QueryParams())
	if fields != nil {
		return validationFailed(c, "invalid query parameters", fields)
	}
	tasks, next, err := h.Tasks.ListTasksPage(c.Request().Context(), f)
	if err != nil {
		return h.internal(c, "list tasks", err)
	}
	page := TaskPage{Items: make([]CallbackTask, 0, len(tasks))}
	for _, t := range tasks {
		page.Items = append(page.Items, taskOf(t))
	}
	if next != nil {
		page.NextCursor = encodeCursor(store.CallCursor{CreatedAt: next.CreatedAt, ID: next.ID})
	}
	return c.JSON(http.StatusOK, page)
}

// closeTask closes an open task by hand, as the CRM user in the body.
func (h *handlers) closeTask(c echo.Context) error {
	if h.Tasks == nil {
		return notImplemented(c, "callback tasks")
	}
	var in taskCloseInput
	if p := readJSON(c, &in); p != nil {
		return p.write(c)
	}
	if why := checkText(in.By, MaxClosedByLen); why != "" {
		return validationFailed(c, "invalid body", map[string]string{"by": why})
	}
	ctx := c.Request().Context()
	id := param(c, "id")
	notOpen := func() error {
		return writeError(c, http.StatusNotFound, "not_found", "no such open task", nil)
	}
	t, err := h.Tasks.GetTask(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return notOpen()
	}
	if err != nil {
		return h.internal(c, "get task", err)
	}
	if t.ClosedAt != nil {
		return notOpen()
	}
	// CloseTask only closes an open task, so of two concurrent closes one wins.
	if err := h.Tasks.CloseTask(ctx, id, in.By, "closed", ""); errors.Is(err, store.ErrNotFound) {
		return notOpen()
	} else if err != nil {
		return h.internal(c, "close task", err)
	}
	if closed, err := h.Tasks.GetTask(ctx, id); err == nil {
		t = closed
	} else {
		// The task is closed: answer so rather than invite a retry.
		h.Log.Warn("api: reading a closed task failed", "task", id, "err", err)
		now := time.Now()
		t.ClosedAt, t.ClosedBy, t.ClosedReason = &now, in.By, "closed"
	}
	if h.TaskEvents != nil {
		h.TaskEvents.TaskClosed(ctx, t, in.By)
	}
	return c.JSON(http.StatusOK, taskOf(t))
}
