// Package announce runs the catalog's deal announcements: deals start and
// end with time rather than with a write, so a worker wakes when the next
// start or end falls due (or when a deal changed in this process) and has
// the store announce what is due. Every replica runs one; the store makes
// each announcement once.
package announce

import (
	"context"
	"log/slog"
	"time"
)

// Store announces what is due and says when more will be.
type Store interface {
	AnnounceDeals(ctx context.Context, now time.Time) (int, error)
	NextDealChange(ctx context.Context, now time.Time) (time.Time, bool, error)
}

// Waits. MaxWait also bounds how late a deal changed by another replica is
// noticed (that replica wakes its own worker at once); MinWait keeps a deal
// that is due but locked elsewhere from spinning the loop.
const (
	MaxWait    = 30 * time.Second
	MinWait    = 250 * time.Millisecond
	ErrorDelay = 5 * time.Second
)

// Worker is one replica's announcer.
type Worker struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
	wake  chan struct{}
}

// New returns a worker; now is the clock.
func New(store Store, now func() time.Time, log *slog.Logger) *Worker {
	return &Worker{store: store, now: now, log: log, wake: make(chan struct{}, 1)}
}

// Wake makes the worker look again now; it never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run announces until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	for {
		wait := w.Pass(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Pass announces what is due now and returns how long to wait for the next.
func (w *Worker) Pass(ctx context.Context) time.Duration {
	now := w.now()
	if _, err := w.store.AnnounceDeals(ctx, now); err != nil {
		return w.failed(ctx, err)
	}
	next, ok, err := w.store.NextDealChange(ctx, now)
	if err != nil {
		return w.failed(ctx, err)
	}
	if !ok {
		return MaxWait
	}
	return min(max(next.Sub(now), MinWait), MaxWait)
}

func (w *Worker) failed(ctx context.Context, err error) time.Duration {
	if ctx.Err() == nil {
		w.log.ErrorContext(ctx, "announcing deals failed; retrying", slog.String("error", err.Error()),
			slog.Duration("retry_in", ErrorDelay))
	}
	return ErrorDelay
}
