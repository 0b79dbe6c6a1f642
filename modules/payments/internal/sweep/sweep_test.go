package sweep

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// run starts w and returns a stop function that ends it and waits until
// Run has returned.
func run(t *testing.T, w *Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	}
}

// TestRunSweepsAtOnceAndAgainUntilStopped: the first sweep runs before any
// tick (the interval here is an hour), later ones keep coming (a failure
// does not end the loop), each with the worker's clock, and Run returns
// when its context ends.
func TestRunSweepsAtOnceAndAgainUntilStopped(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		every  time.Duration
		sweeps int
	}{{time.Hour, 1}, {time.Millisecond, 3}} {
		calls := make(chan time.Time)
		finish := func(ctx context.Context, now time.Time) (int, int, error) {
			select {
			case calls <- now:
			case <-ctx.Done():
			}
			return 0, 1, errors.New("database down")
		}
		stop := run(t, New(finish, func() time.Time { return at }, tc.every, slog.New(slog.DiscardHandler)))
		for i := range tc.sweeps {
			select {
			case now := <-calls:
				if !now.Equal(at) {
					t.Fatalf("every %v: sweep %d at %v, want the worker's clock %v", tc.every, i, now, at)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("every %v: sweep %d never came", tc.every, i)
			}
		}
		stop()
	}
}
