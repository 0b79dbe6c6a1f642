package paymentsmodule

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/kernel"
)

// NewWithGateway is New with the simulated gateway wrapped by wrap (tests
// inject failures around it) and on a clock the test moves.
func NewWithGateway(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus,
	wrap func(gateway.Gateway) gateway.Gateway, now func() time.Time,
) (*Module, error) {
	return newModule(ctx, dbs, log, cfg, bus, wrap, now)
}

// Sweep runs one sweep at the module's time, as the worker would, and
// returns how many pending operations it finished and how many it left
// pending.
func (m *Module) Sweep(ctx context.Context) (finished, left int, err error) {
	return m.svc.FinishPending(ctx, m.now())
}

// PendingGrace is how long a pending operation waits for the sweep.
func (m *Module) PendingGrace() time.Duration { return m.svc.PendingGrace() }
