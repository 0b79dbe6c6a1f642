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

// fields are the log fields a context carries: one context value for both,
// so that the edge gives a request its fields with one value.
type fields struct {
	requestID, module string
	// request marks the fields of a request being served (WithRequest),
	// whose module is set in place once known (SetModule).
	request bool
}

type fieldsKey struct{}

// fieldsContext carries fields: a context and its value in one allocation,
// where context.WithValue would make two (the context and the boxed value).
type fieldsContext struct {
	context.Context
	fields fields
}

func (c *fieldsContext) Value(key any) any {
	if key == (fieldsKey{}) {
		return &c.fields
	}
	return c.Context.Value(key)
}

func withFields(ctx context.Context, f fields) context.Context {
	if ctx == nil {
		panic("cannot create context from nil parent") // as context.WithValue
	}
	return &fieldsContext{Context: ctx, fields: f}
}

func fieldsOf(ctx context.Context) *fields {
	f, _ := ctx.Value(fieldsKey{}).(*fields)
	return f
}

// with returns ctx carrying f's fields changed by set: a copy, so that the
// contexts ctx was derived from keep theirs.
func with(ctx context.Context, set func(*fields)) context.Context {
	var f fields
	if cur := fieldsOf(ctx); cur != nil {
		f = *cur
	}
	f.request = false
	set(&f)
	return withFields(ctx, f)
}

// WithRequestID returns a context whose log lines carry the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return with(ctx, func(f *fields) { f.requestID = id })
}

// RequestID returns the request id carried by ctx, if any.
func RequestID(ctx context.Context) string {
	if f := fieldsOf(ctx); f != nil {
		return f.requestID
	}
	return ""
}

// WithModule returns a context whose log lines carry the module name.
func WithModule(ctx context.Context, module string) context.Context {
	return with(ctx, func(f *fields) { f.module = module })
}

// Module returns the module name carried by ctx, if any.
func Module(ctx context.Context) string {
	if f := fieldsOf(ctx); f != nil {
		return f.module
	}
	return ""
}

// WithRequest returns the context of a request being served, whose log
// lines carry the request id, and whose module is named later, in place, by
// SetModule: the edge learns the module only when the route's handler chain
// starts, and a context value and a copy of the request each time it learns
// something would cost every request.
func WithRequest(ctx context.Context, id string) context.Context {
	return withFields(ctx, fields{requestID: id, request: true})
}

// SetModule names the module serving the request of ctx, made by
// WithRequest: ctx, and the contexts derived from it, carry the name from
// then on. It must be called before the request's context goes to another
// goroutine. Without such a request (ctx's nearest fields are not a
// request's), it returns WithModule(ctx, module), and ok is false.
func SetModule(ctx context.Context, module string) (_ context.Context, ok bool) {
	if f := fieldsOf(ctx); f != nil && f.request {
		f.module = module
		return ctx, true
	}
	return WithModule(ctx, module), false
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
