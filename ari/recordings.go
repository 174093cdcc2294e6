package ari

import (
	"context"
	"net/http"
)

// Recording names may contain a folder ("crm/x"). Every method escapes the name as a single path
// segment (crm%2Fx): Asterisk answers 404 for a raw slash.

// GetLiveRecording is GET /recordings/live/{name}.
func (c *Client) GetLiveRecording(ctx context.Context, name string) (*LiveRecording, error) {
	var out LiveRecording
	if err := c.do(ctx, http.MethodGet, path("recordings", "live", name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StopRecording is POST /recordings/live/{name}/stop (the file is kept; RecordingFinished follows).
func (c *Client) StopRecording(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, path("recordings", "live", name, "stop"), nil, nil, nil)
}

// CancelRecording is DELETE /recordings/live/{name} (stops and discards the file).
func (c *Client) CancelRecording(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, path("recordings", "live", name), nil, nil, nil)
}

// PauseRecording is POST /recordings/live/{name}/pause.
func (c *Client) PauseRecording(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, path("recordings", "live", name, "pause"), nil, nil, nil)
}

// UnpauseRecording is DELETE /recordings/live/{name}/pause.
func (c *Client) UnpauseRecording(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, path("recordings", "live", name, "pause"), nil, nil, nil)
}

// MuteRecording is POST /recordings/live/{name}/mute.
func (c *Client) MuteRecording(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, path("recordings", "live", name, "mute"), nil, nil, nil)
}

// UnmuteRecording is DELETE /recordings/live/{name}/mute.
func (c *Client) UnmuteRecording(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, path("recordings", "live", name, "mute"), nil, nil, nil)
}

// ListStoredRecordings is GET /recordings/stored; it includes MixMonitor files under the
// recording directory (e.g. "crm/test"), even while still being written.
func (c *Client) ListStoredRecordings(ctx context.Context) ([]StoredRecording, error) {
	var out []StoredRecording
	if err := c.do(ctx, http.MethodGet, path("recordings", "stored"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetStoredRecording is GET /recordings/stored/{name}.
func (c *Client) GetStoredRecording(ctx context.Context, name string) (*StoredRecording, error) {
	var out StoredRecording
	if err := c.do(ctx, http.MethodGet, path("recordings", "stored", name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteStoredRecording is DELETE /recordings/stored/{name}.
func (c *Client) DeleteStoredRecording(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, path("recordings", "stored", name), nil, nil, nil)
}

// DownloadStoredRecording is GET /recordings/stored/{name}/file. The caller must close Body;
// ContentType is e.g. audio/wav or audio/raw.
func (c *Client) DownloadStoredRecording(ctx context.Context, name string) (*Download, error) {
	return c.stream(ctx, path("recordings", "stored", name, "file"))
}
