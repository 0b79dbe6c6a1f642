package remote

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// instruments are the client's metrics. Outcome is "ok", the error kind of a
// failed call ("not_found", "unavailable", …), or "circuit_open" and
// "overloaded" for calls refused before any request was sent.
type instruments struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newInstruments(reg prometheus.Registerer) (*instruments, error) {
	m := &instruments{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_remote_calls_total",
			Help: "Calls to modules in other processes, by calling module, callee, method and outcome.",
		}, []string{"caller", "callee", "method", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shop_remote_call_duration_seconds",
			Help:    "Latency of calls to modules in other processes, retries included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"caller", "callee", "method"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.calls, m.duration} {
		if err := reg.Register(c); err != nil {
			// Several clients of one process (one per hosted module) share
			// the instruments.
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			switch existing := are.ExistingCollector.(type) {
			case *prometheus.CounterVec:
				m.calls = existing
			case *prometheus.HistogramVec:
				m.duration = existing
			}
		}
	}
	return m, nil
}

func (m *instruments) observe(caller, callee, method, outcome string, elapsed time.Duration) {
	m.calls.WithLabelValues(caller, callee, method, outcome).Inc()
	m.duration.WithLabelValues(caller, callee, method).Observe(elapsed.Seconds())
}
