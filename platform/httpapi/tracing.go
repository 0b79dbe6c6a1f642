package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
)

// traced starts the server span of every request but the probes' and the
// scraper's, named by its route ("POST /api/orders"), with the standard
// HTTP attributes and the response's status. It runs outside observe, so
// the request's log line carries the span's trace id and the span sees the
// status of an error's problem document.
//
// A request on the public listener starts a trace of its own: the trace
// context a client sends is only linked, so that no one on the internet
// joins a trace or decides what is recorded, unless the request came
// through a trusted proxy (SHOP_HTTP_TRUSTED_PROXIES), whose trace it
// continues. A request forwarded to the internal listener by another
// process continues that process's trace.
func (s *Server) traced() echo.MiddlewareFunc {
	wrap := echo.WrapMiddleware(otelhttp.NewMiddleware("",
		otelhttp.WithTracerProvider(s.tracer),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithPublicEndpointFn(func(r *http.Request) bool {
			internal, _ := r.Context().Value(internalKey{}).(bool)
			return !internal && !fromProxy(r, s.cfg.TrustedProxies)
		}),
	))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		h := wrap(next)
		return func(c echo.Context) error {
			switch route := c.Path(); route {
			case "/healthz", "/readyz", "/metrics":
				return next(c)
			default:
				// echo has matched the route: the span is named after it
				// (as otelhttp does with a ServeMux pattern).
				c.Request().Pattern = c.Request().Method + " " + route
			}
			return h(c)
		}
	}
}

// tracedTransport wraps the transport of requests forwarded to module's
// process: a client span each, whose context the request carries.
func (s *Server) tracedTransport(module string, base http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(s.tracer),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "forward " + module + " " + r.Method }),
	)
}
