package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/tracing"
)

// requestSpans start the server span of every request but the probes' and
// the scraper's, named by its route ("POST /api/orders"), with the standard
// HTTP attributes and the response's status. The span starts with the
// request (see Server.begin), outside observe, so the request's log line
// carries the span's trace id and the span sees the status of an error's
// problem document.
//
// A request on the public listener starts a trace of its own: the trace
// context a client sends is only linked, so that no one on the internet
// joins a trace or decides what is recorded, unless the request came
// through a trusted proxy (SHOP_HTTP_TRUSTED_PROXIES), whose trace it
// continues. A request forwarded to the internal listener by another
// process continues that process's trace.
//
// otelhttp's middleware would do the same at some forty allocations a
// request whether the span is recorded or not (its attributes, the
// wrapped body and writer); here a span that is not recorded costs its
// ids and little more, so tracing without a collector, or with a low
// sample ratio, leaves reads as fast as they were.
type requestSpans struct {
	s          *Server
	tracer     trace.Tracer
	propagator propagation.TraceContext
	serverKind trace.SpanStartOption
	server     []trace.SpanStartOption // built once: no allocation a request
}

// traceparentHeader is where the W3C trace context of a caller comes,
// canonical: HeaderCarrier.Get would make it so on every request.
var traceparentHeader = http.CanonicalHeaderKey("traceparent")

func (s *Server) requestSpans() *requestSpans {
	serverKind := trace.WithSpanKind(trace.SpanKindServer)
	return &requestSpans{s: s, tracer: s.tracer.Tracer(tracing.ScopeName), serverKind: serverKind,
		server: []trace.SpanStartOption{serverKind}}
}

// start starts the span of the request of c, a child of ctx, and returns
// the context carrying it; a nil span for the routes not traced.
func (rs *requestSpans) start(c echo.Context, ctx context.Context) (context.Context, trace.Span) {
	route := c.Path()
	if route == "/healthz" || route == "/readyz" || route == "/metrics" {
		return ctx, nil
	}
	r := c.Request()
	if len(r.Header[traceparentHeader]) > 0 { // without it there is no trace to continue or link
		ctx = rs.propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	opts := rs.server
	if caller := trace.SpanContextFromContext(ctx); caller.IsRemote() && rs.s.public(r) {
		opts = []trace.SpanStartOption{rs.serverKind, trace.WithNewRoot(), trace.WithLinks(trace.Link{SpanContext: caller})}
	}
	ctx, span := rs.tracer.Start(ctx, rs.s.spanName(r.Method, route), opts...)
	if span.IsRecording() {
		scheme := "http"
		if c.IsTLS() {
			scheme = "https"
		}
		span.SetAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.HTTPRoute(route), semconv.URLPath(r.URL.Path),
			semconv.URLScheme(scheme), semconv.ServerAddress(r.Host), semconv.ClientAddress(c.RealIP()),
			semconv.UserAgentOriginal(r.UserAgent()))
	}
	return ctx, span
}

// finish records the response's status on span, once the chain returned.
// The caller ends the span.
func (rs *requestSpans) finish(c echo.Context, span trace.Span) {
	if !span.IsRecording() {
		return
	}
	status := c.Response().Status
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// spanName names the span of a request to route: "GET /api/orders/:id",
// made once per route when it was registered.
func (s *Server) spanName(method, route string) string {
	if rt, ok := s.docs.lookup(method, route); ok {
		return rt.spanName
	}
	return method + " " + route
}

// public reports whether a request came from the internet: on the public
// listener, not through a trusted proxy.
func (s *Server) public(r *http.Request) bool {
	internal, _ := r.Context().Value(internalKey{}).(bool)
	return !internal && !fromProxy(r, s.cfg.TrustedProxies)
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
