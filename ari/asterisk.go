package ari

import (
	"context"
	"net/http"
)

// Info returns GET /asterisk/info; only restricts the sections ("build", "system", "config", "status").
func (c *Client) Info(ctx context.Context, only ...string) (*AsteriskInfo, error) {
	var out AsteriskInfo
	err := c.do(ctx, http.MethodGet, path("asterisk", "info"), query{}.list("only", only), nil, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Ping returns GET /asterisk/ping — a cheap liveness probe of ARI and the credentials.
func (c *Client) Ping(ctx context.Context) (*AsteriskPing, error) {
	var out AsteriskPing
	if err := c.do(ctx, http.MethodGet, path("asterisk", "ping"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListModules returns GET /asterisk/modules.
func (c *Client) ListModules(ctx context.Context) ([]Module, error) {
	var out []Module
	if err := c.do(ctx, http.MethodGet, path("asterisk", "modules"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetModule returns GET /asterisk/modules/{name}, e.g. "chan_websocket.so".
func (c *Client) GetModule(ctx context.Context, name string) (*Module, error) {
	var out Module
	if err := c.do(ctx, http.MethodGet, path("asterisk", "modules", name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetGlobalVar returns GET /asterisk/variable?variable=name (also evaluates dialplan functions).
func (c *Client) GetGlobalVar(ctx context.Context, name string) (string, error) {
	var out Variable
	if err := c.do(ctx, http.MethodGet, path("asterisk", "variable"), query{}.str("variable", name), nil, &out); err != nil {
		return "", err
	}
	return out.Value, nil
}

// SetGlobalVar is POST /asterisk/variable.
func (c *Client) SetGlobalVar(ctx context.Context, name, value string) error {
	q := query{}.str("variable", name).str("value", value)
	return c.do(ctx, http.MethodPost, path("asterisk", "variable"), q, nil, nil)
}

// Dynamic configuration (sorcery). The config class of every PJSIP object type — auth, aor,
// endpoint and registration included — is "res_pjsip"; "res_pjsip_outbound_registration" is 404
// even though that is the sorcery.conf section name for registrations.
const (
	ConfigClassPJSIP  = "res_pjsip"
	PJSIPAuth         = "auth"
	PJSIPAOR          = "aor"
	PJSIPEndpoint     = "endpoint"
	PJSIPRegistration = "registration"
)

type configBody struct {
	Fields ConfigTuples `json:"fields"`
}

// GetConfigObject is GET /asterisk/config/dynamic/{configClass}/{objectType}/{id}.
func (c *Client) GetConfigObject(ctx context.Context, configClass, objectType, id string) (ConfigTuples, error) {
	var out ConfigTuples
	err := c.do(ctx, http.MethodGet, path("asterisk", "config", "dynamic", configClass, objectType, id), nil, nil, &out)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutConfigObject creates or updates an object (PUT with body {"fields":[...]}) and returns its
// full attribute list with defaults filled in. Creation needs a "memory" sorcery wizard (403
// otherwise); objects from config files are read-only (403). Updating a live outbound
// registration changes the stored object only: delete and re-create it instead.
// The fields (and the returned list) may contain secrets; they are never logged.
func (c *Client) PutConfigObject(ctx context.Context, configClass, objectType, id string, fields ConfigTuples) (ConfigTuples, error) {
	if fields == nil {
		fields = ConfigTuples{}
	}
	var out ConfigTuples
	err := c.do(ctx, http.MethodPut, path("asterisk", "config", "dynamic", configClass, objectType, id), nil, configBody{Fields: fields}, &out)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteConfigObject is DELETE /asterisk/config/dynamic/{configClass}/{objectType}/{id}.
// Deleting a registration makes Asterisk unregister (REGISTER Expires: 0) at once.
func (c *Client) DeleteConfigObject(ctx context.Context, configClass, objectType, id string) error {
	return c.do(ctx, http.MethodDelete, path("asterisk", "config", "dynamic", configClass, objectType, id), nil, nil, nil)
}

// GetPJSIP reads a res_pjsip object (objectType: PJSIPAuth, PJSIPAOR, PJSIPEndpoint, PJSIPRegistration).
func (c *Client) GetPJSIP(ctx context.Context, objectType, id string) (ConfigTuples, error) {
	return c.GetConfigObject(ctx, ConfigClassPJSIP, objectType, id)
}

// PutPJSIP creates or updates a res_pjsip object; see PutConfigObject.
func (c *Client) PutPJSIP(ctx context.Context, objectType, id string, fields ConfigTuples) (ConfigTuples, error) {
	return c.PutConfigObject(ctx, ConfigClassPJSIP, objectType, id, fields)
}

// DeletePJSIP deletes a res_pjsip object.
func (c *Client) DeletePJSIP(ctx context.Context, objectType, id string) error {
	return c.DeleteConfigObject(ctx, ConfigClassPJSIP, objectType, id)
}

// ListApplications is GET /applications.
func (c *Client) ListApplications(ctx context.Context) ([]Application, error) {
	var out []Application
	if err := c.do(ctx, http.MethodGet, path("applications"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetApplication is GET /applications/{name}.
func (c *Client) GetApplication(ctx context.Context, name string) (*Application, error) {
	var out Application
	if err := c.do(ctx, http.MethodGet, path("applications", name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SubscribeApplication subscribes app to event sources such as "channel:<id>", "bridge:<id>",
// "endpoint:PJSIP/<res>", "deviceState:<name>".
func (c *Client) SubscribeApplication(ctx context.Context, app string, eventSources ...string) (*Application, error) {
	var out Application
	err := c.do(ctx, http.MethodPost, path("applications", app, "subscription"), query{}.list("eventSource", eventSources), nil, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UnsubscribeApplication is DELETE /applications/{name}/subscription.
func (c *Client) UnsubscribeApplication(ctx context.Context, app string, eventSources ...string) (*Application, error) {
	var out Application
	err := c.do(ctx, http.MethodDelete, path("applications", app, "subscription"), query{}.list("eventSource", eventSources), nil, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListEndpoints is GET /endpoints.
func (c *Client) ListEndpoints(ctx context.Context) ([]Endpoint, error) {
	var out []Endpoint
	if err := c.do(ctx, http.MethodGet, path("endpoints"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetEndpoint is GET /endpoints/{tech}/{resource}. Its state says nothing about outbound
// registrations (no ARI resource or event reports those).
func (c *Client) GetEndpoint(ctx context.Context, tech, resource string) (*Endpoint, error) {
	var out Endpoint
	if err := c.do(ctx, http.MethodGet, path("endpoints", tech, resource), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListDeviceStates is GET /deviceStates.
func (c *Client) ListDeviceStates(ctx context.Context) ([]DeviceState, error) {
	var out []DeviceState
	if err := c.do(ctx, http.MethodGet, path("deviceStates"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetDeviceState is GET /deviceStates/{name}.
func (c *Client) GetDeviceState(ctx context.Context, name string) (*DeviceState, error) {
	var out DeviceState
	if err := c.do(ctx, http.MethodGet, path("deviceStates", name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateDeviceState sets a custom device state ("Stasis:<name>"), e.g. NOT_INUSE, INUSE, BUSY.
func (c *Client) UpdateDeviceState(ctx context.Context, name, state string) error {
	return c.do(ctx, http.MethodPut, path("deviceStates", name), query{}.str("deviceState", state), nil, nil)
}

// DeleteDeviceState is DELETE /deviceStates/{name}.
func (c *Client) DeleteDeviceState(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, path("deviceStates", name), nil, nil, nil)
}
