package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/logging"
)

// decode parses the single JSON line in buf.
func decode(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %d:\n%s", len(lines), buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("log line is not JSON: %v\n%s", err, lines[0])
	}
	return m
}

func TestContextValuesAppearInJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.New(&buf, "json", "info")
	ctx := logging.WithModule(logging.WithRequestID(context.Background(), "req-123"), "catalog")
	log.InfoContext(ctx, "hello", "k", "v")

	m := decode(t, &buf)
	want := map[string]string{"msg": "hello", "request_id": "req-123", "module": "catalog", "k": "v"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %q (line %v)", k, m[k], v, m)
		}
	}
}

// A line logged with a context carrying a span names its trace and span,
// so that logs and traces of one request can be read side by side.
func TestSpanContextAppearsInJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	logging.New(&buf, "json", "info").InfoContext(ctx, "traced")
	m := decode(t, &buf)
	if m["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || m["span_id"] != "00f067aa0ba902b7" {
		t.Errorf("trace_id, span_id = %v, %v; want the context's (line %v)", m["trace_id"], m["span_id"], m)
	}
}

func TestNoContextValuesNoKeys(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logging.New(&buf, "json", "info").Info("plain")
	m := decode(t, &buf)
	for _, k := range []string{"request_id", "module", "trace_id", "span_id"} {
		if _, ok := m[k]; ok {
			t.Errorf("line has %s without a context value: %v", k, m)
		}
	}
}

func TestForModuleDoesNotRepeatModule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		ctxModule string
	}{
		{"same module in context", "catalog"},
		{"other module in context", "identity"},
		{"no module in context", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log := logging.ForModule(logging.New(&buf, "json", "info"), "catalog")
			ctx := logging.WithRequestID(context.Background(), "r1")
			if tt.ctxModule != "" {
				ctx = logging.WithModule(ctx, tt.ctxModule)
			}
			log.With("extra", 1).InfoContext(ctx, "hi")

			if n := strings.Count(buf.String(), `"module"`); n != 1 {
				t.Errorf("module printed %d times, want once:\n%s", n, buf.String())
			}
			m := decode(t, &buf)
			if m["module"] != "catalog" || m["request_id"] != "r1" {
				t.Errorf("line = %v, want module catalog and request_id r1", m)
			}
		})
	}
}

func TestTextFormatAndLevel(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.New(&buf, "text", "warn")
	ctx := logging.WithRequestID(context.Background(), "abc")
	log.InfoContext(ctx, "dropped")
	log.WarnContext(ctx, "kept")
	out := buf.String()
	if strings.Contains(out, "dropped") {
		t.Errorf("info line logged at warn level:\n%s", out)
	}
	if !strings.Contains(out, "msg=kept") || !strings.Contains(out, "request_id=abc") {
		t.Errorf("text line = %q, want msg=kept and request_id=abc", out)
	}
	if strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("text format wrote JSON: %s", out)
	}
}

func TestContextAccessors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if logging.RequestID(ctx) != "" || logging.Module(ctx) != "" {
		t.Error("empty context carries values")
	}
	ctx = logging.WithModule(logging.WithRequestID(ctx, "id"), "m")
	if logging.RequestID(ctx) != "id" || logging.Module(ctx) != "m" {
		t.Errorf("RequestID/Module = %q/%q", logging.RequestID(ctx), logging.Module(ctx))
	}
}

// A request's module is set in place: the request's context, and those
// derived from it before, carry it from then on; a context with fields of
// its own keeps them.
func TestSetModuleOfRequest(t *testing.T) {
	t.Parallel()
	type key struct{}
	req := logging.WithRequest(context.Background(), "req-1")
	derived := context.WithValue(req, key{}, 1)
	own := logging.WithModule(req, "orders")
	if m := logging.Module(req); m != "" {
		t.Fatalf("module %q before SetModule", m)
	}
	ctx, inPlace := logging.SetModule(derived, "catalog")
	if !inPlace || ctx != derived {
		t.Fatalf("SetModule on a request's context: in place %v, same context %v; want both", inPlace, ctx == derived)
	}
	for name, c := range map[string]context.Context{"request": req, "derived": derived} {
		if m, id := logging.Module(c), logging.RequestID(c); m != "catalog" || id != "req-1" {
			t.Errorf("%s context: module %q, request id %q; want catalog, req-1", name, m, id)
		}
	}
	if m, id := logging.Module(own), logging.RequestID(own); m != "orders" || id != "req-1" {
		t.Errorf("context with a module of its own: module %q, request id %q; want orders, req-1", m, id)
	}
	// Fields set with WithModule are a copy, never changed in place.
	ctx, inPlace = logging.SetModule(own, "billing")
	if inPlace || logging.Module(own) != "orders" || logging.Module(ctx) != "billing" {
		t.Errorf("SetModule on a context without a request's fields: in place %v, module %q then %q; want a new context",
			inPlace, logging.Module(own), logging.Module(ctx))
	}
	if ctx, inPlace := logging.SetModule(context.Background(), "catalog"); inPlace || logging.Module(ctx) != "catalog" {
		t.Errorf("SetModule without fields: in place %v, module %q", inPlace, logging.Module(ctx))
	}
}
