package paymentsmodule_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/modules/payments/paymentstest"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// What the flaky gateway does with the operation under test.
const (
	works   int32 = iota
	loses         // carries it out, but the answer is lost
	refuses       // errs without carrying it out
)

// flakyGateway wraps the simulator: the operations of one kind behave as
// mode says, and every call of that kind is counted per idempotency key.
// Calls that work run before first, when it is set, and fail with its
// error.
type flakyGateway struct {
	fakeGateway
	mode   atomic.Int32
	before func(ctx context.Context) error

	mu    sync.Mutex
	calls map[string]int
}

func newFlakyGateway(kind string) *flakyGateway {
	f := &flakyGateway{calls: map[string]int{}}
	run := func(ctx context.Context, key string, do func() error) error {
		f.mu.Lock()
		f.calls[key]++
		f.mu.Unlock()
		switch f.mode.Load() {
		case refuses:
			return errors.New("503 service unavailable")
		case loses:
			if err := do(); err != nil {
				return err
			}
			return errors.New("connection reset by peer")
		}
		if f.before != nil {
			if err := f.before(ctx); err != nil {
				return err
			}
		}
		return do()
	}
	switch kind {
	case "capture":
		f.capture = func(ctx context.Context, ref string, a gateway.Amount, key string) error {
			return run(ctx, key, func() error { return f.inner.Capture(ctx, ref, a, key) })
		}
	case "void":
		f.void = func(ctx context.Context, ref, key string) error {
			return run(ctx, key, func() error { return f.inner.Void(ctx, ref, key) })
		}
	case "refund":
		f.refund = func(ctx context.Context, ref string, a gateway.Amount, key string) error {
			return run(ctx, key, func() error { return f.inner.Refund(ctx, ref, a, key) })
		}
	}
	return f
}

// callsOf counts the gateway calls with the order's key for kind.
func (f *flakyGateway) callsOf(kind, orderID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[kind+":"+orderID]
}

// sweep runs one sweep and checks what it did. It gives up after a while
// rather than hang, so that a sweep waiting for a lock fails the test.
func (e *env) sweep(t *testing.T, wantFinished, wantLeft int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	finished, left, err := e.mod.Sweep(ctx)
	if err != nil || finished != wantFinished || left != wantLeft {
		t.Fatalf("sweep finished %d and left %d, %v; want %d and %d", finished, left, err, wantFinished, wantLeft)
	}
}

// abandon authorizes a new order and leaves a capture of it pending, as a
// caller who gives up after the gateway refused it.
func (e *env) abandon(t *testing.T, f *flakyGateway) payments.Payment {
	t.Helper()
	p := e.authorize(t, payments.CardApprove)
	f.mode.Store(refuses)
	defer f.mode.Store(works)
	if _, err := e.api.Capture(svc(), p.OrderID); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("capture with the gateway refusing: %v, want unavailable", err)
	}
	return p
}

// TestSweepFinishesAbandonedOperations: a capture, void or refund whose
// caller gave up after the gateway carried it out (the answer was lost) is
// left alone until the grace period has passed; then a sweep sends it again
// with the same key, and while the gateway still fails the payment stays as
// it was, for a sweep a grace period later. That one finishes it: one
// operation in the gateway's ledger, one event, and a caller's retry
// afterwards changes nothing.
func TestSweepFinishesAbandonedOperations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind   string
		setup  []string
		call   string
		status string
		event  string
	}{
		{"capture", nil, "capture", payments.StatusCaptured, capturedEvent},
		{"void", nil, "refund", payments.StatusVoided, refundedEvent},
		{"refund", []string{"capture"}, "refund", payments.StatusRefunded, refundedEvent},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			f := newFlakyGateway(tc.kind)
			e := newEnv(t, time.Second, &f.fakeGateway)
			call := map[string]func(context.Context, string) (payments.Payment, error){"capture": e.api.Capture, "refund": e.api.Refund}
			p := e.authorize(t, payments.CardApprove)
			for _, s := range tc.setup {
				var err error
				if p, err = call[s](svc(), p.OrderID); err != nil {
					t.Fatal(err)
				}
			}
			f.mode.Store(loses)
			if _, err := call[tc.call](svc(), p.OrderID); !errs.Is(err, errs.KindUnavailable) {
				t.Fatalf("%s with the answer lost: %v, want unavailable", tc.call, err)
			}
			unchanged := func(when string) {
				t.Helper()
				if now := e.payment(t, p.OrderID); !paymentstest.Same(now, p) {
					t.Fatalf("%s: payment %+v, want unchanged %+v", when, now, p)
				}
				if n := e.published(t, tc.event, p.OrderID); n != 0 {
					t.Fatalf("%s: %d events %s", when, n, tc.event)
				}
			}
			unchanged("after the lost answer")
			ref := e.ref(t, p.OrderID)
			if n := e.ops(t, tc.kind, ref); n != 1 {
				t.Fatalf("%d %s operations at the gateway, want the 1 whose answer was lost", n, tc.kind)
			}

			f.mode.Store(refuses)
			e.clock.advance(e.mod.PendingGrace() - time.Second)
			e.sweep(t, 0, 0)
			if n := f.callsOf(tc.kind, p.OrderID); n != 1 {
				t.Fatalf("%d gateway calls before the grace period passed, want only the caller's", n)
			}
			e.clock.advance(time.Second)
			e.sweep(t, 0, 1)
			if n := f.callsOf(tc.kind, p.OrderID); n != 2 {
				t.Fatalf("%d gateway calls after the first due sweep, want 2", n)
			}
			unchanged("while the gateway still fails")
			e.sweep(t, 0, 0) // just tried: not due again yet
			if n := f.callsOf(tc.kind, p.OrderID); n != 2 {
				t.Fatalf("%d gateway calls after a sweep that had nothing due, want 2", n)
			}

			f.mode.Store(works)
			e.clock.advance(e.mod.PendingGrace())
			e.sweep(t, 1, 0)
			got := e.payment(t, p.OrderID)
			if got.Status != tc.status {
				t.Fatalf("after the sweep: %+v, want %s", got, tc.status)
			}
			e.clock.advance(e.mod.PendingGrace())
			e.sweep(t, 0, 0)
			if again, err := call[tc.call](svc(), p.OrderID); err != nil || !paymentstest.Same(again, got) {
				t.Errorf("%s after the sweep = %+v, %v; want %+v", tc.call, again, err, got)
			}
			if n := e.ops(t, tc.kind, ref); n != 1 {
				t.Errorf("%d %s operations at the gateway, want 1", n, tc.kind)
			}
			if n := e.count(t, `SELECT count(*) FROM payments.gateway_operations WHERE strpos(idempotency_key, $1) > 0`,
				p.OrderID); n != len(tc.setup)+2 {
				t.Errorf("%d operations at the gateway for the order, want %d", n, len(tc.setup)+2)
			}
			if n := e.published(t, tc.event, p.OrderID); n != 1 {
				t.Errorf("%d events %s, want 1", n, tc.event)
			}
		})
	}
}

// TestSweepSkipsLockedPayments: a payment another transaction holds (a
// request's step, or another replica's claim) is passed over: the sweep
// neither waits for it nor touches it, and finishes the others. Once the
// lock is gone, the next sweep finishes it.
func TestSweepSkipsLockedPayments(t *testing.T) {
	t.Parallel()
	f := newFlakyGateway("capture")
	e := newEnv(t, time.Second, &f.fakeGateway)
	locked, free := e.abandon(t, f), e.abandon(t, f)
	e.clock.advance(e.mod.PendingGrace())

	ctx := context.Background()
	tx, err := e.dbs.Owner().Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT 1 FROM payments.payments WHERE order_id = $1 FOR UPDATE`, locked.OrderID); err != nil {
		t.Fatal(err)
	}
	e.sweep(t, 1, 0)
	if got := e.payment(t, free.OrderID); got.Status != payments.StatusCaptured {
		t.Errorf("the free payment after the sweep: %+v, want captured", got)
	}
	if got := e.payment(t, locked.OrderID); !paymentstest.Same(got, locked) || f.callsOf("capture", locked.OrderID) != 1 {
		t.Errorf("the locked payment after the sweep: %+v (%d gateway calls), want untouched",
			got, f.callsOf("capture", locked.OrderID))
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	e.sweep(t, 1, 0)
	if got := e.payment(t, locked.OrderID); got.Status != payments.StatusCaptured {
		t.Errorf("the formerly locked payment: %+v, want captured", got)
	}
	for _, p := range []payments.Payment{locked, free} {
		if n := e.ops(t, "capture", e.ref(t, p.OrderID)); n != 1 {
			t.Errorf("%s: %d captures, want 1", p.OrderID, n)
		}
		if n := e.published(t, capturedEvent, p.OrderID); n != 1 {
			t.Errorf("%s: %d events, want 1", p.OrderID, n)
		}
	}
}

// TestSweepLeavesClaimedPaymentsAlone: while one sweep is at the gateway
// with a payment it claimed (no lock is held then), another sweep does not
// take the payment up again; the first one finishes it.
func TestSweepLeavesClaimedPaymentsAlone(t *testing.T) {
	t.Parallel()
	f := newFlakyGateway("capture")
	e := newEnv(t, 10*time.Second, &f.fakeGateway)
	p := e.abandon(t, f)
	e.clock.advance(e.mod.PendingGrace())
	arrived, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	f.before = func(ctx context.Context) error {
		if !first.CompareAndSwap(false, true) {
			return nil
		}
		close(arrived)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	type result struct {
		finished, left int
		err            error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.finished, r.left, r.err = e.mod.Sweep(context.Background())
		done <- r
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first sweep never reached the gateway")
	}
	e.sweep(t, 0, 0)
	close(release)
	if r := <-done; r.err != nil || r.finished != 1 || r.left != 0 {
		t.Fatalf("first sweep finished %d and left %d, %v; want 1 and 0", r.finished, r.left, r.err)
	}
	if n := f.callsOf("capture", p.OrderID); n != 2 {
		t.Errorf("%d capture calls at the gateway, want 2 (the caller's and the first sweep's)", n)
	}
	if n := e.published(t, capturedEvent, p.OrderID); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

// TestConcurrentSweepsFinishOnce: replicas sweeping at the same moment
// share the abandoned captures out: the sweeps meet at the gateway (each
// waits there until all have arrived, so every claim is made while the
// others hold theirs), and yet each capture is sent once, finished once and
// published once.
func TestConcurrentSweepsFinishOnce(t *testing.T) {
	t.Parallel()
	const sweepers, abandoned = 4, 12
	f := newFlakyGateway("capture")
	e := newEnv(t, 10*time.Second, &f.fakeGateway)
	var ps []payments.Payment
	for range abandoned {
		ps = append(ps, e.abandon(t, f))
	}
	e.clock.advance(e.mod.PendingGrace())
	f.before = newGate(sweepers).wait
	finished, left, failures := make([]int, sweepers), make([]int, sweepers), make([]error, sweepers)
	parallel(sweepers, func(i int) { finished[i], left[i], failures[i] = e.mod.Sweep(context.Background()) })
	total := 0
	for i := range sweepers {
		if failures[i] != nil || left[i] != 0 {
			t.Fatalf("sweeper %d: finished %d, left %d, %v", i, finished[i], left[i], failures[i])
		}
		total += finished[i]
	}
	if total != abandoned {
		t.Errorf("the sweepers finished %v = %d captures, want %d", finished, total, abandoned)
	}
	for _, p := range ps {
		// One call by the caller who gave up, one by a sweep.
		if n := f.callsOf("capture", p.OrderID); n != 2 {
			t.Errorf("%s: %d capture calls at the gateway, want 2", p.OrderID, n)
		}
		if got := e.payment(t, p.OrderID); got.Status != payments.StatusCaptured {
			t.Errorf("%s: %+v, want captured", p.OrderID, got)
		}
		if n := e.ops(t, "capture", e.ref(t, p.OrderID)); n != 1 {
			t.Errorf("%s: %d captures, want 1", p.OrderID, n)
		}
		if n := e.published(t, capturedEvent, p.OrderID); n != 1 {
			t.Errorf("%s: %d events, want 1", p.OrderID, n)
		}
	}
}

// TestWorkerFinishesInBackground: the started module sweeps by itself, at
// once on start and on its clock, and stops when told.
func TestWorkerFinishesInBackground(t *testing.T) {
	t.Parallel()
	f := newFlakyGateway("capture")
	e := newEnv(t, time.Second, &f.fakeGateway)
	p := e.abandon(t, f)
	e.clock.advance(e.mod.PendingGrace())
	ctx := context.Background()
	if err := e.mod.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.mod.Start(ctx); err == nil {
		t.Error("a second Start succeeded")
	}
	eventstest.Eventually(t, 10*time.Second, "the worker finishes the capture", func() bool {
		got, err := e.api.Payment(svc(), p.OrderID)
		return err == nil && got.Status == payments.StatusCaptured
	})
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.mod.Stop(stopCtx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := e.mod.Stop(stopCtx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if n := e.published(t, capturedEvent, p.OrderID); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}
