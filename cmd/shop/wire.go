//go:build wireinject

package main

import (
	"context"
	"log/slog"

	"github.com/google/wire"
	"go.opentelemetry.io/otel/trace"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
)

// buildApp composes the modules this process hosts behind one HTTP edge;
// their neighbours hosted elsewhere are called through remote adapters.
func buildApp(ctx context.Context, cfg config.Config, log *slog.Logger, dbs *kernel.Databases, p placement, tp trace.TracerProvider) (*App, error) {
	wire.Build(
		provideHealth, metrics.New, httpapi.New, provideBus, // the kernel capabilities every module shares
		provideAuthenticator,   // identity, hosted here or reached elsewhere, tells the edge who holds a session
		remoteKeys, remoteAPIs, // calls to modules hosted elsewhere, signed by the calling module
		provideIdentity, provideCatalog, provideInventory, provideCart,
		providePayments, provideOrders, provideNotifications, provideReporting,
		provideOps, // the ops page: this process's report, and its heartbeat
		newApp,
	)
	return nil, nil
}
