// Package sweep runs the inventory's expiry sweeps: held reservations that
// were neither committed nor released in time give their stock back. Every
// replica runs one worker; the store makes sure each reservation expires
// once however many sweep at the same moment.
package sweep

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopmonolith/shop/platform/kernel"
)

// Expire gives back what is due at now and says how many reservations
// expired.
type Expire func(ctx context.Context, now time.Time) (int, error)

// Worker is one replica's sweeper.
type Worker struct {
	expire Expire
	now    func() time.Time
	every  time.Duration
	log    *slog.Logger
}

// New returns a worker that sweeps every interval; now is the clock.
func New(expire Expire, now func() time.Time, every time.Duration, log *slog.Logger) *Worker {
	return &Worker{expire: expire, now: now, every: every, log: log}
}

// Run sweeps at once (what expired while no replica ran is given back
// first) and then every interval, until ctx ends. A failed sweep is logged
// and the next one tries again.
func (w *Worker) Run(ctx context.Context) {
	kernel.Every(ctx, w.every, w.Pass)
}

// Pass runs one sweep.
func (w *Worker) Pass(ctx context.Context) {
	n, err := w.expire(ctx, w.now())
	switch {
	case err != nil && ctx.Err() == nil:
		w.log.ErrorContext(ctx, "expiring reservations failed; retrying at the next sweep",
			slog.String("error", err.Error()), slog.Duration("retry_in", w.every))
	case n > 0:
		w.log.InfoContext(ctx, "reservations expired", slog.Int("count", n))
	}
}
