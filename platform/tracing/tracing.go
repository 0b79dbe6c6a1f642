// Package tracing builds the process's OpenTelemetry tracer provider. The
// other capabilities take it as a trace.TracerProvider and make the spans:
//
//   - httpapi: one server span per request at the edge ("GET
//     /api/orders/:id"), and a client span per request forwarded to the
//     module's owner process;
//   - remote: a client span per call to a module in another process and a
//     server span where it is served ("inventory.Reserve");
//   - database: a client span per statement a module sends (pgx), child of
//     whatever span the statement's context carries;
//   - events: a producer span per published event ("publish
//     orders.order_placed.v1"), whose context travels in the event's
//     metadata, and a consumer span per handling of it ("handle
//     orders.order_placed.v1"), a child of the publisher's span that also
//     links to it.
//
// Spans are exported over OTLP/HTTP only when an endpoint is configured;
// otherwise the provider samples nothing it starts itself (spans are
// non-recording and cost next to nothing), but trace ids are still made,
// propagated and logged.
package tracing

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/errs"
)

// ScopeName is the instrumentation scope of the shop's own spans.
const ScopeName = "github.com/shopmonolith/shop"

// New returns the tracer provider of a process hosting the modules hosted
// (every module when all is set): exporting to the configured collector,
// if any. Its Shutdown flushes the spans not exported yet.
func New(ctx context.Context, cfg config.Tracing, hosted []string, all bool) (*sdktrace.TracerProvider, error) {
	res := Resource(ServiceName(cfg, hosted, all), hosted)
	endpoint, err := Endpoint(cfg)
	if err != nil || endpoint == "" {
		// Nothing to export to: record nothing that starts here. A caller
		// that recorded its trace is followed (ParentBased), so that the
		// next process, which may export, sees a consistent trace.
		return sdktrace.NewTracerProvider(sdktrace.WithResource(res),
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample()))), err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio)))), nil
}

// Endpoint returns the URL spans are exported to: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// as it is, else OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces appended (as
// the OTLP exporter specification says); empty when neither is set.
func Endpoint(cfg config.Tracing) (string, error) {
	if cfg.TracesEndpoint != "" {
		return cfg.TracesEndpoint, nil
	}
	if cfg.Endpoint == "" {
		return "", nil
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return "", fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	return u.JoinPath("v1", "traces").String(), nil
}

// ServiceName is OTEL_SERVICE_NAME, else "shop" for a process hosting every
// module and "shop-<module>-<module>…" for one hosting some.
func ServiceName(cfg config.Tracing, hosted []string, all bool) string {
	switch {
	case cfg.ServiceName != "":
		return cfg.ServiceName
	case all:
		return "shop"
	case len(hosted) == 0:
		return "shop-edge"
	}
	return "shop-" + strings.Join(hosted, "-")
}

// Resource describes the process: its service name and the modules it
// hosts (shop.modules).
func Resource(service string, hosted []string) *resource.Resource {
	return resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service),
		attribute.StringSlice("shop.modules", hosted))
}

// Or returns tp, or a provider that makes no spans when tp is nil: the
// capabilities take nil for "not traced" (tests that do not look).
func Or(tp trace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return noop.NewTracerProvider()
	}
	return tp
}

// Tracer returns the shop's tracer of tp (nil: one that makes no spans).
func Tracer(tp trace.TracerProvider) trace.Tracer {
	return Or(tp).Tracer(ScopeName)
}

// End ends span with the outcome err: on failure the span's status is an
// error, and error.type names the error's kind (not_found, conflict…).
func End(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(attribute.String("error.type", errs.KindOf(err).String()))
	}
	span.End()
}
