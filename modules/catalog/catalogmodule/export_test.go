package catalogmodule

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/kernel"
)

// NewWithClock is New on a clock the test moves.
func NewWithClock(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, bus *events.Bus, now func() time.Time) (*Module, error) {
	return newModule(ctx, dbs, log, bus, now)
}

// AnnounceDue runs one pass of the deal announcer, as its worker would.
func (m *Module) AnnounceDue(ctx context.Context) { m.announcer.Pass(ctx) }

// DB is the module's database, for reading its outbox.
func (m *Module) DB() *database.DB { return m.db }
