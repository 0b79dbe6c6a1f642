// Package logging builds the process logger: log/slog, JSON in production and
// text in development, with the request id, the trace and span ids and the
// module taken from the context on every line.
package logging

import (
	"context"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	moduleKey
)

// WithRequestID returns a context whose log lines carry the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request id carried by ctx, if any.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// WithModule returns a context whose log lines carry the module name.
func WithModule(ctx context.Context, module string) context.Context {
	return context.WithValue(ctx, moduleKey, module)
}

// Module returns the module name carried by ctx, if any.
func Module(ctx context.Context) string {
	m, _ := ctx.Value(moduleKey).(string)
	return m
}

// New returns a logger writing to w in the given format ("json" or "text") at
// the given level ("debug", "info", "warn", "error").
func New(w io.Writer, format, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(contextHandler{Handler: h})
}

// ForModule returns the logger a module is given: every line names the module.
func ForModule(l *slog.Logger, module string) *slog.Logger {
	return l.With(slog.String("module", module))
}

// contextHandler adds request_id, trace_id, span_id and module from the
// record's context; the module is skipped when the logger already names one.
type contextHandler struct {
	slog.Handler
	hasModule bool
}

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if m := Module(ctx); m != "" && !h.hasModule {
		r.AddAttrs(slog.String("module", m))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	has := h.hasModule
	for _, a := range attrs {
		has = has || a.Key == "module"
	}
	return contextHandler{Handler: h.Handler.WithAttrs(attrs), hasModule: has}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{Handler: h.Handler.WithGroup(name), hasModule: h.hasModule}
}
