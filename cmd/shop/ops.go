package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
	"github.com/shopmonolith/shop/platform/ops"
	"github.com/shopmonolith/shop/platform/remote"
)

// provideOps builds the ops page's report of this process: a new instance
// id at every start, the host's name and the binary's build.
func provideOps(p placement, srv *httpapi.Server, h *health.State, bus *events.Bus, m *metrics.Metrics, keys remote.Keys,
	tp trace.TracerProvider, log *slog.Logger) (*ops.Ops, error) {
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "unknown"
	}
	version := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		version = describeBuild(info)
	}
	return ops.New(ops.Config{
		Modules: p.all, Hosted: p.hosted, URLs: p.urls,
		Instance: uuid.NewString(), Hostname: hostname, Version: version, StartedAt: time.Now().UTC(), Address: srv.InternalAddr,
		Health: h, Bus: bus, Metrics: m, Keys: keys, Tracer: tp, Log: log,
	})
}
