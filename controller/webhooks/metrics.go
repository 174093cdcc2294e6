package webhooks

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the deliverer's collectors.
type Metrics struct {
	Attempts *prometheus.CounterVec // by result: delivered, failed
	Pending  prometheus.Gauge
}

// NewMetrics creates the collectors and registers them on reg (pass
// metrics.Metrics.Registry).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmphone_webhook_attempts_total", Help: "Webhook delivery attempts to the CRM, by result (delivered, failed).",
		}, []string{"result"}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crmphone_webhook_pending", Help: "Webhook events in the outbox not delivered yet.",
		}),
	}
	for _, c := range []prometheus.Collector{m.Attempts, m.Pending} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("webhooks: register metrics"), err)
		}
	}
	return m, nil
}
