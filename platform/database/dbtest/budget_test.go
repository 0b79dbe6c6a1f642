//go:build unix

package dbtest

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestHoldNeverGivesMoreThanTheCapacity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	first, err := hold(ctx, dir, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := hold(short, dir, 5, 3); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("3 more of 5 while 3 are held = %v, want a wait until the deadline", err)
	}
	two, err := hold(ctx, dir, 5, 2)
	if err != nil {
		t.Fatalf("the 2 left: %v", err)
	}

	// A waiter gets its units once a holder gives them back.
	got := make(chan error, 1)
	go func() {
		release, err := hold(ctx, dir, 5, 3)
		if err == nil {
			release()
		}
		got <- err
	}()
	first()
	first() // a second release does nothing
	if err := <-got; err != nil {
		t.Fatalf("after a release: %v", err)
	}
	two()
}
