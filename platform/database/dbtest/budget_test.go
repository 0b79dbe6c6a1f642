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

// A test holding a reservation that asks for more than is free (hold and
// wait) must not stop requests that fit: it holds nothing while it waits.
func TestAWaiterHoldsNothingWhileItWaits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	first, err := hold(ctx, dir, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	waiting, stop := context.WithCancel(ctx)
	defer stop()
	waited := make(chan error, 1)
	go func() {
		_, err := hold(waiting, dir, 5, 3) // only 2 are free
		waited <- err
	}()
	fits, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	two, err := hold(fits, dir, 5, 2)
	if err != nil {
		t.Fatalf("the 2 free units, while a request for 3 waits: %v", err)
	}
	two()
	stop()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Fatalf("the waiter = %v, want it still waiting until cancelled", err)
	}
	first()
}

// A request that waited past its patience claims: units given back go to
// it, not to a newcomer, until it has them all.
func TestALongWaiterGetsTheUnitsGivenBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	claims := make(chan struct{}, 1)
	u := units{dir: t.TempDir(), capacity: 3, patience: 0, claimWindow: time.Minute}
	a, err := u.hold(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := u.hold(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 2)
	go func() {
		release, err := units{dir: u.dir, capacity: 3, patience: 0, claimWindow: time.Minute, claims: claims}.hold(ctx, 3)
		if err != nil {
			t.Error(err)
			return
		}
		got <- "long waiter"
		release()
	}()
	<-claims // it claims, holding the free unit
	a()
	go func() {
		release, err := u.hold(ctx, 1)
		if err != nil {
			t.Error(err)
			return
		}
		got <- "newcomer"
		release()
	}()
	b()
	if first := <-got; first != "long waiter" {
		t.Fatalf("the units given back went first to the %s", first)
	}
	if second := <-got; second != "newcomer" {
		t.Fatalf("then %s", second)
	}
}
