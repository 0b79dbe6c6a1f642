package remote_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/logging"
	"github.com/shopmonolith/shop/platform/remote"
)

// Every kind reaches the caller as it left the callee, with its message,
// fields and Retry-After; an internal error's message stays behind.
func TestErrorKindsSurvive(t *testing.T) {
	t.Parallel()
	for kind := errs.KindInternal; kind <= errs.KindMethodNotAllowed; kind++ {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			sent := errs.E(kind, "the %s message", kind).WithField("sku", "unique", "is taken")
			if kind == errs.KindRateLimited || kind == errs.KindUnavailable {
				sent.RetryAfter = 30 * time.Second
			}
			ts := serve(t, map[string]remote.Method{"Fail": returning(func(context.Context, int) (int, error) { return 0, sent })})
			_, err := call(context.Background(), client(t, ts.URL, nil), "Fail", false, 1)
			var got *errs.Error
			if !errors.As(err, &got) || got.Kind != kind {
				t.Fatalf("err = %v, want kind %s", err, kind)
			}
			if kind == errs.KindInternal {
				if got.Message == sent.Message {
					t.Errorf("an internal error's message crossed the wire: %q", got.Message)
				}
				return
			}
			if got.Message != sent.Message || !slices.Equal(got.Fields, sent.Fields) || got.RetryAfter != sent.RetryAfter {
				t.Errorf("got %q %v retry %s, want %q %v retry %s", got.Message, got.Fields, got.RetryAfter,
					sent.Message, sent.Fields, sent.RetryAfter)
			}
		})
	}
}

// Arguments and results cross whole; the server sees the caller's
// deadline, trace context and request id.
func TestCallCarriesDeadlineTraceAndRequestID(t *testing.T) {
	t.Parallel()
	type seen struct {
		deadline  time.Time
		hasDL     bool
		trace     trace.SpanContext
		requestID string
	}
	got := make(chan seen, 1)
	ts := serve(t, map[string]remote.Method{"Double": returning(func(ctx context.Context, n int) (int, error) {
		dl, ok := ctx.Deadline()
		got <- seen{dl, ok, trace.SpanContextFromContext(ctx), logging.RequestID(ctx)}
		return 2 * n, nil
	})})
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:  trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled,
	})
	ctx := logging.WithRequestID(trace.ContextWithSpanContext(context.Background(), sc), "req-42")
	deadline := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	n, err := call(ctx, client(t, ts.URL, nil), "Double", true, 21)
	if err != nil || n != 42 {
		t.Fatalf("Double(21) = %d, %v", n, err)
	}
	s := <-got
	// The server's deadline is the caller's as the time left when the
	// request left (so it is later by the time in transit): an hour away,
	// not the client's default of seconds nor none at all.
	if !s.hasDL || s.deadline.After(deadline.Add(time.Minute)) || s.deadline.Before(deadline.Add(-time.Minute)) {
		t.Errorf("server deadline %v (set %v), want just before %v", s.deadline, s.hasDL, deadline)
	}
	if s.trace.TraceID() != sc.TraceID() || !s.trace.IsRemote() {
		t.Errorf("server trace %v, want trace id %v from a remote parent", s.trace, sc.TraceID())
	}
	if s.requestID != "req-42" {
		t.Errorf("server request id %q, want req-42", s.requestID)
	}
}

// failing answers with the errors of fails in turn, then succeeds, and
// counts the requests it got.
func failing(fails ...error) (remote.Method, *atomic.Int32) {
	var n atomic.Int32
	return returning(func(context.Context, int) (int, error) {
		i := int(n.Add(1)) - 1
		if i < len(fails) {
			return 0, fails[i]
		}
		return 1, nil
	}), &n
}

func TestRetriesOnlyIdempotentMethodsAndOnlyWhatARetryMayCure(t *testing.T) {
	t.Parallel()
	unavailable := errs.E(errs.KindUnavailable, "busy")
	tests := []struct {
		name       string
		idempotent bool
		fails      []error
		wantCalls  int32
		wantKind   errs.Kind
		wantOK     bool
	}{
		{"idempotent recovers from 503s", true, []error{unavailable, unavailable}, 3, 0, true},
		{"idempotent gives up after the attempts", true, []error{unavailable, unavailable, unavailable, unavailable}, 3, errs.KindUnavailable, false},
		{"not idempotent is never retried", false, []error{unavailable}, 1, errs.KindUnavailable, false},
		{"a conflict is not retried", true, []error{errs.E(errs.KindConflict, "taken")}, 1, errs.KindConflict, false},
		{"a not-found is not retried", true, []error{errs.E(errs.KindNotFound, "no")}, 1, errs.KindNotFound, false},
		{"a rate limit is not retried", true, []error{&errs.Error{Kind: errs.KindRateLimited, RetryAfter: time.Second}}, 1, errs.KindRateLimited, false},
		{"an internal error is not retried", true, []error{errors.New("boom")}, 1, errs.KindInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, calls := failing(tt.fails...)
			ts := serve(t, map[string]remote.Method{"M": m})
			_, err := call(context.Background(), client(t, ts.URL, nil), "M", tt.idempotent, 1)
			if tt.wantOK != (err == nil) || !tt.wantOK && !errs.Is(err, tt.wantKind) {
				t.Errorf("err = %v, want ok %v or kind %s", err, tt.wantOK, tt.wantKind)
			}
			if calls.Load() != tt.wantCalls {
				t.Errorf("server got %d requests, want %d", calls.Load(), tt.wantCalls)
			}
		})
	}
}

// A connection that dies without an answer is retried for an idempotent
// method only.
func TestRetriesTransportErrorsForIdempotentMethods(t *testing.T) {
	t.Parallel()
	m, calls := failing()
	target := serve(t, map[string]remote.Method{"M": m})
	var dropped atomic.Int32
	drop := rewriteFunc(t, func(w http.ResponseWriter, r *http.Request) bool {
		if dropped.Add(1) > 1 {
			return false
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return true
	}, target.URL)
	if _, err := call(context.Background(), client(t, drop, nil), "M", true, 1); err != nil {
		t.Fatalf("idempotent call after a dropped connection: %v", err)
	}
	if calls.Load() != 1 || dropped.Load() != 2 {
		t.Errorf("server got %d, proxy %d requests; want 1 and 2", calls.Load(), dropped.Load())
	}
	dropped.Store(0)
	if _, err := call(context.Background(), client(t, drop, nil), "M", false, 1); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("non-idempotent call after a dropped connection: %v, want unavailable", err)
	}
	if calls.Load() != 1 || dropped.Load() != 1 {
		t.Errorf("server got %d, proxy %d requests; want 1 and 1", calls.Load(), dropped.Load())
	}
}

// rewriteFunc serves intercept first and, when it does not answer, proxies
// to target's server; it returns the URL.
func rewriteFunc(t *testing.T, intercept func(http.ResponseWriter, *http.Request) bool, target string) string {
	t.Helper()
	proxy := &http.Client{}
	return start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if intercept(w, r) {
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := proxy.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
}

func TestBreakerOpensAfterConsecutiveFailures(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	ts := serve(t, map[string]remote.Method{
		"Fail": returning(func(context.Context, int) (int, error) {
			calls.Add(1)
			return 0, errors.New("boom")
		}),
		"Conflict": returning(func(context.Context, int) (int, error) {
			calls.Add(1)
			return 0, errs.E(errs.KindConflict, "taken")
		}),
	})
	c := client(t, ts.URL, func(cfg *remote.ClientConfig) {
		cfg.Options.BreakerFailures = 3
		cfg.Options.BreakerOpen = time.Hour
	})
	// Refusals on the merits say nothing of the neighbour's health.
	for range 5 {
		if _, err := call(context.Background(), c, "Conflict", false, 1); !errs.Is(err, errs.KindConflict) {
			t.Fatalf("Conflict: %v", err)
		}
	}
	for range 3 {
		if _, err := call(context.Background(), c, "Fail", false, 1); !errs.Is(err, errs.KindInternal) {
			t.Fatalf("Fail: %v, want internal", err)
		}
	}
	before := calls.Load()
	_, err := call(context.Background(), c, "Conflict", false, 1)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUnavailable || e.RetryAfter != time.Hour {
		t.Fatalf("call with the circuit open: %v, want unavailable with Retry-After", err)
	}
	if calls.Load() != before {
		t.Errorf("the open circuit let a request through")
	}
}

// A caller that gives up on a neighbour within BreakerSlowCall (a short
// deadline of its own) does not open the neighbour's circuit; calls that
// waited longer for their deadline do.
func TestBreakerCountsOnlySlowDeadlines(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	ts := serve(t, map[string]remote.Method{
		"Slow": returning(func(ctx context.Context, n int) (int, error) {
			select {
			case <-release:
				return n, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}),
		"Echo": returning(func(_ context.Context, n int) (int, error) { return n, nil }),
	})
	hurried := func(c *remote.Client) {
		for range 5 {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			_, err := call(ctx, c, "Slow", false, 1)
			cancel()
			if err == nil {
				t.Fatal("a call past its deadline succeeded")
			}
		}
	}
	patient := client(t, ts.URL, func(cfg *remote.ClientConfig) {
		cfg.Options.BreakerFailures = 3
		cfg.Options.BreakerOpen = time.Hour
	})
	hurried(patient)
	if n, err := call(context.Background(), patient, "Echo", false, 7); err != nil || n != 7 {
		t.Fatalf("after callers in a hurry gave up: %d, %v; want the circuit closed", n, err)
	}

	strict := client(t, ts.URL, func(cfg *remote.ClientConfig) {
		cfg.Options.BreakerFailures = 3
		cfg.Options.BreakerOpen = time.Hour
		cfg.Options.BreakerSlowCall = time.Millisecond
	})
	hurried(strict)
	if _, err := call(context.Background(), strict, "Echo", false, 7); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("after calls waited past BreakerSlowCall: %v, want the circuit open", err)
	}
}

// Beyond MaxInFlight a call waits for a slot until its deadline, and never
// reaches the neighbour (its refusal says when to retry); a freed slot
// serves the next call.
func TestConcurrencyLimitPerNeighbour(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}, 4), make(chan struct{})
	var calls atomic.Int32
	ts := serve(t, map[string]remote.Method{"Block": returning(func(_ context.Context, n int) (int, error) {
		calls.Add(1)
		entered <- struct{}{}
		<-release
		return n, nil
	})})
	c := client(t, ts.URL, func(cfg *remote.ClientConfig) { cfg.Options.MaxInFlight = 1 })
	first := make(chan error, 1)
	go func() {
		_, err := call(context.Background(), c, "Block", false, 1)
		first <- err
	}()
	<-entered // the first call holds the only slot

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := call(ctx, c, "Block", false, 2)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUnavailable || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("second call: %v (ctx %v), want unavailable at its deadline", err, ctx.Err())
	}
	if e.RetryAfter <= 0 {
		t.Errorf("second call: no Retry-After, want when a slot may be free: the edge answers 503 with it")
	}
	if calls.Load() != 1 {
		t.Fatalf("the neighbour got %d calls, want 1", calls.Load())
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first call: %v", err)
	}
	if n, err := call(context.Background(), c, "Block", false, 3); err != nil || n != 3 {
		t.Fatalf("third call: %d, %v", n, err)
	}
}

// Bursts of calls as many as may be in flight find their connections open
// again: the client keeps one per call in flight instead of closing all
// but two after each burst and dialling the rest anew.
func TestBurstsOfCallsReuseTheirConnections(t *testing.T) {
	t.Parallel()
	const burst = 8
	arrived := make(chan struct{}, burst)
	release := make(chan struct{})
	srv := remote.NewServer(remote.ServerConfig{Keys: remote.DevKeys(secret, "callee"), Callers: callers},
		remote.Service{Module: "callee", Methods: map[string]remote.Method{"Wait": returning(func(_ context.Context, n int) (int, error) {
			arrived <- struct{}{}
			<-release // every call of the burst holds its connection at once
			return n, nil
		})}})
	var dialled atomic.Int32
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialled.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	c := client(t, ts.URL, func(cfg *remote.ClientConfig) { cfg.Options.MaxInFlight = burst })

	for round := 1; round <= 3; round++ {
		errc := make(chan error, burst)
		for i := range burst {
			go func() {
				_, err := call(context.Background(), c, "Wait", false, i)
				errc <- err
			}()
		}
		for range burst {
			<-arrived
		}
		for range burst {
			release <- struct{}{}
		}
		for range burst {
			if err := <-errc; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	if n := dialled.Load(); n != burst {
		t.Errorf("%d connections opened over 3 bursts of %d calls, want %d", n, burst, burst)
	}
}

func TestMetricsCountCallsByOutcome(t *testing.T) {
	t.Parallel()
	ts := serve(t, map[string]remote.Method{
		"Ok":      returning(func(context.Context, int) (int, error) { return 1, nil }),
		"Missing": returning(func(context.Context, int) (int, error) { return 0, errs.E(errs.KindNotFound, "no") }),
	})
	reg := prometheus.NewRegistry()
	c := client(t, ts.URL, func(cfg *remote.ClientConfig) { cfg.Registerer = reg })
	_, _ = call(context.Background(), c, "Ok", true, 1)
	_, _ = call(context.Background(), c, "Ok", true, 1)
	_, _ = call(context.Background(), c, "Missing", true, 1)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	var observed uint64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetName() {
			case "shop_remote_calls_total":
				if labels["caller"] == "caller" && labels["callee"] == "callee" {
					counts[labels["method"]+" "+labels["outcome"]] = m.GetCounter().GetValue()
				}
			case "shop_remote_call_duration_seconds":
				observed += m.GetHistogram().GetSampleCount()
			}
		}
	}
	if counts["Ok ok"] != 2 || counts["Missing not_found"] != 1 || observed != 3 {
		t.Errorf("counts %v, %d durations; want Ok ok 2, Missing not_found 1, 3 durations", counts, observed)
	}
}
