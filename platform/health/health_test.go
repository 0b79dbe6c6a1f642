package health_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/health"
)

type report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func serve(t *testing.T, h http.HandlerFunc) (int, report) {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	var rep report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, rep
}

func TestReadyRunsChecks(t *testing.T) {
	t.Parallel()
	s := health.NewState(time.Second)
	var calls atomic.Int32
	s.Add("db", func(context.Context) error { calls.Add(1); return nil })
	s.Add("cache", func(context.Context) error { calls.Add(1); return nil })

	code, rep := serve(t, s.Ready)
	if code != http.StatusOK || rep.Status != "ok" {
		t.Errorf("Ready = %d %+v, want 200 ok", code, rep)
	}
	if calls.Load() != 2 {
		t.Errorf("checks ran %d times, want 2", calls.Load())
	}
	if rep.Checks["db"] != "ok" || rep.Checks["cache"] != "ok" {
		t.Errorf("checks = %v", rep.Checks)
	}
}

func TestReadyNamesFailingCheck(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := health.NewState(time.Second).WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	s.Add("db", func(context.Context) error { return nil })
	s.Add("module:catalog", func(context.Context) error { return errors.New("pool exhausted at 10.0.0.7") })

	code, rep := serve(t, s.Ready)
	if code != http.StatusServiceUnavailable || rep.Status != "failing" {
		t.Errorf("Ready = %d %q, want 503 failing", code, rep.Status)
	}
	// The public answer names the check; the error, which may describe the
	// infrastructure, goes to the log only.
	if rep.Checks["module:catalog"] != "failing" {
		t.Errorf("checks = %v, want module:catalog failing", rep.Checks)
	}
	if !strings.Contains(logs.String(), "pool exhausted at 10.0.0.7") || !strings.Contains(logs.String(), "module:catalog") {
		t.Errorf("log = %q, want the failing check and its error", logs.String())
	}
	if rep.Checks["db"] != "ok" {
		t.Errorf("checks = %v, want db ok", rep.Checks)
	}
	if code, _ := serve(t, s.Live); code != http.StatusOK {
		t.Errorf("Live = %d while a check fails, want 200", code)
	}
}

func TestADegradableCheckDegradesWithoutFailingReadiness(t *testing.T) {
	t.Parallel()
	s := health.NewState(time.Second)
	var down atomic.Bool
	down.Store(true)
	s.Add("db", func(context.Context) error { return nil })
	s.AddDegradable("broker", func(context.Context) error {
		if down.Load() {
			return errors.New("not connected")
		}
		return nil
	})
	code, rep := serve(t, s.Ready)
	if code != http.StatusOK || rep.Status != "degraded" || rep.Checks["broker"] != "degraded" || rep.Checks["db"] != "ok" {
		t.Errorf("Ready with the broker down = %d %+v, want 200 degraded naming the broker", code, rep)
	}
	s.Add("cache", func(context.Context) error { return errors.New("down") })
	if code, rep := serve(t, s.Ready); code != http.StatusServiceUnavailable || rep.Status != "failing" {
		t.Errorf("Ready with a failing check too = %d %+v, want 503 failing", code, rep)
	}
	s.Add("cache", func(context.Context) error { return nil })
	down.Store(false)
	if code, rep := serve(t, s.Ready); code != http.StatusOK || rep.Status != "ok" {
		t.Errorf("Ready with the broker back = %d %+v, want 200 ok", code, rep)
	}
}

func TestReadyTimesOutSlowCheck(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := health.NewState(20 * time.Millisecond).WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	s.Add("slow", func(ctx context.Context) error {
		<-ctx.Done() // a check that only returns when its deadline passes
		return ctx.Err()
	})
	code, rep := serve(t, s.Ready)
	if code != http.StatusServiceUnavailable {
		t.Errorf("Ready = %d, want 503", code)
	}
	if rep.Checks["slow"] != "failing" || !strings.Contains(logs.String(), context.DeadlineExceeded.Error()) {
		t.Errorf("slow check = %q, log %q; want failing with deadline exceeded logged", rep.Checks["slow"], logs.String())
	}
}

func TestDrain(t *testing.T) {
	t.Parallel()
	s := health.NewState(time.Second)
	var calls atomic.Int32
	s.Add("db", func(context.Context) error { calls.Add(1); return nil })
	if s.Draining() {
		t.Fatal("new State is draining")
	}
	if code, _ := serve(t, s.Ready); code != http.StatusOK {
		t.Fatalf("Ready before Drain = %d", code)
	}
	s.Drain()
	if !s.Draining() {
		t.Error("Draining() = false after Drain")
	}
	before := calls.Load()
	code, rep := serve(t, s.Ready)
	if code != http.StatusServiceUnavailable || rep.Status != "draining" {
		t.Errorf("Ready after Drain = %d %q, want 503 draining", code, rep.Status)
	}
	if calls.Load() != before {
		t.Error("checks ran while draining")
	}
	if code, rep := serve(t, s.Live); code != http.StatusOK || rep.Status != "ok" {
		t.Errorf("Live after Drain = %d %q, want 200 ok", code, rep.Status)
	}
}
