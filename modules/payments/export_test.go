package payments

import (
	"context"
	"log/slog"

	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/kernel"
)

// NewWithGateway is New with the simulated gateway wrapped by wrap: tests
// inject failures around it.
func NewWithGateway(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus,
	wrap func(gateway.Gateway) gateway.Gateway,
) (*Module, error) {
	return newModule(ctx, dbs, log, cfg, bus, wrap)
}
