package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/logging"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/platform/tracing"
)

// Without an exporter no request span is recorded, yet every request has a
// trace: its id is made, or taken from the traceparent a trusted proxy
// sends (one from the internet is only linked), the handler's context
// carries it, and every log line of the request names the trace and the
// request's span.
func TestRequestTraceWithoutExporter(t *testing.T) {
	t.Parallel()
	const (
		callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan  = "00f067aa0ba902b7"
	)
	tests := []struct {
		name, peer, traceparent string
		continued               bool
	}{
		{"no traceparent", "198.51.100.4:4000", "", false},
		{"traceparent through a trusted proxy", "10.1.2.3:4000", "00-" + callerTrace + "-" + callerSpan + "-00", true},
		{"traceparent from the internet", "198.51.100.4:4000", "00-" + callerTrace + "-" + callerSpan + "-00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, map[string]string{"SHOP_HTTP_TRUSTED_PROXIES": "10.0.0.0/8"})
			tp, err := tracing.New(context.Background(), cfg.Tracing, nil, true)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			logs := &syncBuffer{}
			log := logging.New(logs, "json", "info")
			srv := httpapi.New(cfg, log, health.NewState(time.Second), metrics.New(), nil, tp)
			var seen trace.Span
			srv.Router("testmod").GET("/things/:id", func(c echo.Context) error {
				seen = trace.SpanFromContext(c.Request().Context())
				log.InfoContext(c.Request().Context(), "handling")
				return c.NoContent(http.StatusNoContent)
			})

			req := httptest.NewRequest(http.MethodGet, "/things/1", nil)
			req.RemoteAddr = tt.peer
			if tt.traceparent != "" {
				req.Header.Set("Traceparent", tt.traceparent)
			}
			rec := httptest.NewRecorder()
			srv.Echo.ServeHTTP(rec, req)
			if rec.Code != http.StatusNoContent || seen == nil {
				t.Fatalf("status %d, handler ran: %v", rec.Code, seen != nil)
			}
			sc := seen.SpanContext()
			if !sc.IsValid() || seen.IsRecording() {
				t.Fatalf("the handler's span: valid %v, recording %v; want a valid span context, not recorded", sc.IsValid(), seen.IsRecording())
			}
			if got := sc.TraceID().String(); (got == callerTrace) != tt.continued {
				t.Errorf("trace id %s; the caller's %s continued: %v, want %v", got, callerTrace, got == callerTrace, tt.continued)
			}
			if sc.SpanID().String() == callerSpan {
				t.Error("the request's span has the caller's span id")
			}

			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			msgs := map[string]bool{}
			for _, l := range lines {
				var line struct {
					Msg     string `json:"msg"`
					TraceID string `json:"trace_id"`
					SpanID  string `json:"span_id"`
					Module  string `json:"module"`
				}
				if err := json.Unmarshal([]byte(l), &line); err != nil {
					t.Fatalf("log line %q: %v", l, err)
				}
				msgs[line.Msg] = true
				if line.TraceID != sc.TraceID().String() || line.SpanID != sc.SpanID().String() {
					t.Errorf("%q line: trace_id %q, span_id %q; want the request's %s, %s", line.Msg, line.TraceID, line.SpanID, sc.TraceID(), sc.SpanID())
				}
				if line.Module != "testmod" {
					t.Errorf("%q line: module %q, want testmod", line.Msg, line.Module)
				}
			}
			if !msgs["handling"] || !msgs["request"] {
				t.Errorf("log lines %q, want the handler's and the request's", lines)
			}
		})
	}
}
