package events

import (
	"github.com/prometheus/client_golang/prometheus"
)

// instruments are the pipeline's Prometheus metrics.
type instruments struct {
	published     *prometheus.CounterVec
	delivered     *prometheus.CounterVec
	retried       *prometheus.CounterVec
	deadLettered  *prometheus.CounterVec
	backlog       *prometheus.GaugeVec
	outboxBacklog *prometheus.GaugeVec
	orphaned      *prometheus.GaugeVec
	relayHeld     *prometheus.CounterVec
	latency       *prometheus.HistogramVec
}

func newInstruments(reg prometheus.Registerer) (*instruments, error) {
	m := &instruments{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_events_published_total", Help: "Committed events forwarded from a publisher's outbox, by type.",
		}, []string{"type"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_events_delivered_total", Help: "Events handled successfully, by type and subscriber.",
		}, []string{"type", "subscriber"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_events_retried_total", Help: "Failed handler attempts scheduled for a retry, by type and subscriber.",
		}, []string{"type", "subscriber"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_events_dead_lettered_total", Help: "Events dead-lettered after the last attempt, by type and subscriber.",
		}, []string{"type", "subscriber"}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shop_events_backlog", Help: "Events waiting in a subscriber's inbox.",
		}, []string{"subscriber"}),
		outboxBacklog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shop_events_outbox_backlog", Help: "Committed events not yet forwarded, by publishing module.",
		}, []string{"module"}),
		orphaned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shop_events_orphaned", Help: "Undelivered inbox events of subscriber ids no longer registered.",
		}, []string{"module", "subscriber"}),
		relayHeld: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_events_relay_held_total",
			Help: "Relay batches stopped at an event whose subscriber's module this process has no connection to, left to a replica that has; by publishing and subscribing module.",
		}, []string{"module", "subscriber_module"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shop_events_commit_to_handled_seconds",
			Help:    "Time from the publishing commit to the handler's commit, by type and subscriber.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"type", "subscriber"}),
	}
	for _, c := range []prometheus.Collector{m.published, m.delivered, m.retried, m.deadLettered, m.backlog, m.outboxBacklog, m.orphaned, m.relayHeld, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
