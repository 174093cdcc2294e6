// Package metrics defines crmphone's Prometheus metrics on a registry of its
// own, so tests can create as many as they like.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every crmphone_* collector.
type Metrics struct {
	Registry *prometheus.Registry

	Logins          *prometheus.CounterVec
	OperatorsOnline prometheus.Gauge
	WSConnections   prometheus.Gauge
	WSClosed        *prometheus.CounterVec
	HTTPRequests    *prometheus.CounterVec
	HTTPDuration    *prometheus.HistogramVec
	ARIConnected    prometheus.Gauge
	ARIReconnects   prometheus.Counter
	RedisConnected  prometheus.Gauge
}

// New creates and registers the collectors, plus Go and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmphone_logins_total", Help: "Operator login attempts by result (ok or a rejection code).",
		}, []string{"result"}),
		OperatorsOnline: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crmphone_operators_online", Help: "Operators with at least one softphone session on this controller.",
		}),
		WSConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crmphone_ws_connections", Help: "Open softphone websockets.",
		}),
		WSClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmphone_ws_closed_total", Help: "Softphone websockets closed, by reason.",
		}, []string{"reason"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmphone_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crmphone_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}, []string{"route"}),
		ARIConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crmphone_ari_connected", Help: "1 while the ARI events websocket to Asterisk is connected.",
		}),
		ARIReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmphone_ari_reconnects_total", Help: "Reconnections of the ARI events websocket.",
		}),
		RedisConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crmphone_redis_connected", Help: "1 while Redis (shared live state) answers; 0 when down or not configured.",
		}),
	}
	r.MustRegister(m.Logins, m.OperatorsOnline, m.WSConnections, m.WSClosed, m.HTTPRequests, m.HTTPDuration,
		m.ARIConnected, m.ARIReconnects, m.RedisConnected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
