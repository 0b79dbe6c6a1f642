// Package sweep runs the payments' sweep: capture, void and refund
// operations left pending at the gateway (their callers gave up after a
// gateway failure, or the process ended) are finished in the background.
// Every replica runs one worker; the store's claims make sure that one
// sweep at a time takes up each pending operation, however many run at
// the same moment.
package sweep

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopmonolith/shop/platform/kernel"
)

// Finish finishes what was abandoned as of now and says how many
// operations it finished and how many the gateway still failed.
type Finish func(ctx context.Context, now time.Time) (finished, left int, err error)

// Worker is one replica's sweeper.
type Worker struct {
	finish Finish
	now    func() time.Time
	every  time.Duration
	log    *slog.Logger
}

// New returns a worker that sweeps every interval; now is the clock.
func New(finish Finish, now func() time.Time, every time.Duration, log *slog.Logger) *Worker {
	return &Worker{finish: finish, now: now, every: every, log: log}
}

// Run sweeps at once (what was abandoned while no replica ran is finished
// first) and then every interval, until ctx ends. A failed sweep is logged
// and the next one tries again.
func (w *Worker) Run(ctx context.Context) {
	kernel.Every(ctx, w.every, w.Pass)
}

// Pass runs one sweep.
func (w *Worker) Pass(ctx context.Context) {
	finished, left, err := w.finish(ctx, w.now())
	if err != nil && ctx.Err() == nil {
		w.log.ErrorContext(ctx, "finishing pending payment operations failed; retrying at the next sweep",
			slog.String("error", err.Error()), slog.Duration("retry_in", w.every))
	}
	if finished > 0 {
		w.log.InfoContext(ctx, "pending payment operations finished", slog.Int("count", finished))
	}
	if left > 0 {
		// Each failure is logged with its order; this says they will be
		// tried again, and an operation that never succeeds shows up here
		// sweep after sweep.
		w.log.WarnContext(ctx, "pending payment operations still failing at the gateway; a later sweep retries them",
			slog.Int("count", left))
	}
}
