package sweep

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// TestRunSweepsAtOnceAndAgainUntilStopped: the first sweep runs before any
// tick, later ones keep coming (a failure does not end the loop), each with
// the worker's clock, and Run returns when its context ends.
func TestRunSweepsAtOnceAndAgainUntilStopped(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	calls := make(chan time.Time)
	expire := func(ctx context.Context, now time.Time) (int, error) {
		select {
		case calls <- now:
		case <-ctx.Done():
		}
		return 0, errors.New("database down")
	}
	w := New(expire, func() time.Time { return at }, time.Millisecond, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	for i := range 3 {
		select {
		case now := <-calls:
			if !now.Equal(at) {
				t.Fatalf("sweep %d at %v, want the worker's clock %v", i, now, at)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("sweep %d never came", i)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
