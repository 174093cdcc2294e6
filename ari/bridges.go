package ari

import (
	"context"
	"net/http"
)

// CreateBridgeParams are the parameters of POST /bridges.
type CreateBridgeParams struct {
	Type     []string // e.g. ["mixing"]; joined with ","
	BridgeID string
	Name     string
}

// CreateBridge is POST /bridges.
func (c *Client) CreateBridge(ctx context.Context, p CreateBridgeParams) (*Bridge, error) {
	var out Bridge
	q := query{}.list("type", p.Type).str("bridgeId", p.BridgeID).str("name", p.Name)
	if err := c.do(ctx, http.MethodPost, path("bridges"), q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetBridge is GET /bridges/{id}.
func (c *Client) GetBridge(ctx context.Context, id string) (*Bridge, error) {
	var out Bridge
	if err := c.do(ctx, http.MethodGet, path("bridges", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListBridges is GET /bridges. Use it after a reconnect to reconcile state.
func (c *Client) ListBridges(ctx context.Context) ([]Bridge, error) {
	var out []Bridge
	if err := c.do(ctx, http.MethodGet, path("bridges"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// DestroyBridge is DELETE /bridges/{id}. Bridges outlive their channels until destroyed.
func (c *Client) DestroyBridge(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, path("bridges", id), nil, nil, nil)
}

// AddChannelParams are the parameters of POST /bridges/{id}/addChannel.
type AddChannelParams struct {
	Channels                    []string // one or more channel ids
	Role                        string
	AbsorbDTMF                  bool
	Mute                        bool
	InhibitConnectedLineUpdates bool
}

// AddChannel is POST /bridges/{id}/addChannel. Every channel must already be in Stasis (wait for
// its StasisStart); otherwise Asterisk answers 422 (ErrNotInStasis) and adds none of them.
func (c *Client) AddChannel(ctx context.Context, bridgeID string, p AddChannelParams) error {
	q := query{}.list("channel", p.Channels).str("role", p.Role).flag("absorbDTMF", p.AbsorbDTMF).
		flag("mute", p.Mute).flag("inhibitConnectedLineUpdates", p.InhibitConnectedLineUpdates)
	return c.do(ctx, http.MethodPost, path("bridges", bridgeID, "addChannel"), q, nil, nil)
}

// RemoveChannel is POST /bridges/{id}/removeChannel.
func (c *Client) RemoveChannel(ctx context.Context, bridgeID string, channelIDs ...string) error {
	return c.do(ctx, http.MethodPost, path("bridges", bridgeID, "removeChannel"), query{}.list("channel", channelIDs), nil, nil)
}

// RecordBridge is POST /bridges/{id}/record (201 with state "queued"; RecordingStarted follows).
func (c *Client) RecordBridge(ctx context.Context, bridgeID string, p RecordParams) (*LiveRecording, error) {
	var out LiveRecording
	if err := c.do(ctx, http.MethodPost, path("bridges", bridgeID, "record"), p.query(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PlayBridge is POST /bridges/{id}/play.
func (c *Client) PlayBridge(ctx context.Context, bridgeID string, p PlayParams) (*Playback, error) {
	var out Playback
	if err := c.do(ctx, http.MethodPost, path("bridges", bridgeID, "play"), p.query(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StartBridgeMOH is POST /bridges/{id}/moh.
func (c *Client) StartBridgeMOH(ctx context.Context, bridgeID, class string) error {
	return c.do(ctx, http.MethodPost, path("bridges", bridgeID, "moh"), query{}.str("mohClass", class), nil, nil)
}

// StopBridgeMOH is DELETE /bridges/{id}/moh.
func (c *Client) StopBridgeMOH(ctx context.Context, bridgeID string) error {
	return c.do(ctx, http.MethodDelete, path("bridges", bridgeID, "moh"), nil, nil, nil)
}
