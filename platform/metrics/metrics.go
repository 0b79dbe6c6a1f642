// Package metrics owns the Prometheus registry of the process and the HTTP
// instruments: request rate, errors and latency per module and route.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the process registry plus the shared HTTP instruments.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns a registry with Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_http_requests_total",
			Help: "HTTP requests handled, by module, route, method and status code.",
		}, []string{"module", "route", "method", "code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_http_request_errors_total",
			Help: "HTTP requests answered with a 5xx status, by module and route.",
		}, []string{"module", "route", "method"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shop_http_request_duration_seconds",
			Help:    "HTTP request latency, by module and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"module", "route", "method"}),
	}
	reg.MustRegister(m.requests, m.errors, m.duration)
	return m
}

// knownMethods bounds the method label: a client inventing methods must not
// grow the registry.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// ObserveHTTP records one request.
func (m *Metrics) ObserveHTTP(module, route, method string, status int, elapsed time.Duration) {
	if !knownMethods[method] {
		method = "OTHER"
	}
	m.requests.WithLabelValues(module, route, method, statusLabel(status)).Inc()
	if status >= 500 {
		m.errors.WithLabelValues(module, route, method).Inc()
	}
	m.duration.WithLabelValues(module, route, method).Observe(elapsed.Seconds())
}

// statusLabels are the labels of the HTTP statuses, made once: strconv.Itoa
// would allocate one on every request.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

// statusLabel is strconv.Itoa(status), without an allocation for a status
// up to 599.
func statusLabel(status int) string {
	if status >= 0 && status < len(statusLabels) {
		return statusLabels[status]
	}
	return strconv.Itoa(status)
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
