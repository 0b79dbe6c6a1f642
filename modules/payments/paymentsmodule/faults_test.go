package paymentsmodule_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/modules/payments/paymentstest"
	"github.com/shopmonolith/shop/platform/errs"
)

// faultyGateway wraps the simulator: while armed, the next operation of
// kind runs at the simulator, and then its answer is lost (an error
// instead), or the module's ctx is cancelled so that the module cannot
// record what the gateway did, as if the process had crashed before
// committing.
type faultyGateway struct {
	fakeGateway
	armed  atomic.Bool
	cancel atomic.Pointer[context.CancelFunc]
}

const (
	answerLost  = "answer lost"
	recordFails = "record fails"
)

func newFaultyGateway(kind, fault string) *faultyGateway {
	f := &faultyGateway{}
	after := func(err error) error {
		if err != nil || !f.armed.CompareAndSwap(true, false) {
			return err
		}
		if fault == answerLost {
			return errors.New("connection reset by peer")
		}
		(*f.cancel.Load())()
		return nil
	}
	switch kind {
	case "authorize":
		f.authorize = func(ctx context.Context, card string, amount gateway.Amount, key string) (gateway.Authorization, error) {
			a, err := f.inner.Authorize(ctx, card, amount, key)
			return a, after(err)
		}
	case "capture":
		f.capture = func(ctx context.Context, ref string, amount gateway.Amount, key string) error {
			return after(f.inner.Capture(ctx, ref, amount, key))
		}
	case "void":
		f.void = func(ctx context.Context, ref, key string) error { return after(f.inner.Void(ctx, ref, key)) }
	case "refund":
		f.refund = func(ctx context.Context, ref string, amount gateway.Amount, key string) error {
			return after(f.inner.Refund(ctx, ref, amount, key))
		}
	}
	return f
}

// TestRetryAfterTheGatewayActedDoesNotRepeatIt: the gateway carries out an
// operation, but the module never learns it (the answer is lost) or cannot
// record it (its commit fails). The payment stays as it was and nothing is
// published; the retry sends the same key, the gateway returns its first
// result instead of acting again, and the payment moves on with one event.
func TestRetryAfterTheGatewayActedDoesNotRepeatIt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind, fault string
		setup       []string // calls that bring the payment to where the faulty one starts
		call        string
		status      string
		event       string
		firstFails  bool
	}{
		// A lost authorization answer is retried within the call, and the
		// retry gets the first answer.
		{"authorize", answerLost, nil, "authorize", payments.StatusAuthorized, authorizedEvent, false},
		{"authorize", recordFails, nil, "authorize", payments.StatusAuthorized, authorizedEvent, true},
		{"capture", answerLost, []string{"authorize"}, "capture", payments.StatusCaptured, capturedEvent, true},
		{"capture", recordFails, []string{"authorize"}, "capture", payments.StatusCaptured, capturedEvent, true},
		{"void", answerLost, []string{"authorize"}, "refund", payments.StatusVoided, refundedEvent, true},
		{"void", recordFails, []string{"authorize"}, "refund", payments.StatusVoided, refundedEvent, true},
		{"refund", answerLost, []string{"authorize", "capture"}, "refund", payments.StatusRefunded, refundedEvent, true},
		{"refund", recordFails, []string{"authorize", "capture"}, "refund", payments.StatusRefunded, refundedEvent, true},
	} {
		t.Run(tc.kind+" "+tc.fault, func(t *testing.T) {
			t.Parallel()
			f := newFaultyGateway(tc.kind, tc.fault)
			e := newEnv(t, 5*time.Second, &f.fakeGateway)
			req := e.request(t, payments.CardApprove)
			call := func(ctx context.Context, name string) (payments.Payment, error) {
				switch name {
				case "authorize":
					return e.api.Authorize(ctx, req)
				case "capture":
					return e.api.Capture(ctx, req.OrderID)
				}
				return e.api.Refund(ctx, req.OrderID)
			}
			var before payments.Payment
			for _, s := range tc.setup {
				var err error
				if before, err = call(svc(), s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			ctx, cancel := context.WithCancel(svc())
			defer cancel()
			f.cancel.Store(&cancel)
			f.armed.Store(true)
			first, err := call(ctx, tc.call)
			if f.armed.Load() {
				t.Fatal("the fault was never injected")
			}
			if tc.firstFails {
				if err == nil {
					t.Fatalf("first %s = %+v, want an error", tc.call, first)
				}
				if tc.call != "authorize" && !errs.Is(err, errs.KindUnavailable) && tc.fault == answerLost {
					t.Errorf("first %s: %v, want unavailable", tc.call, err)
				}
				now, err := e.api.Payment(svc(), req.OrderID)
				switch {
				case tc.kind == "authorize" && !errs.Is(err, errs.KindNotFound):
					t.Errorf("after the failed authorization: %+v, %v; want no payment", now, err)
				case tc.kind != "authorize" && (err != nil || !paymentstest.Same(now, before)):
					t.Errorf("after the failed %s: %+v, %v; want unchanged %+v", tc.call, now, err, before)
				}
				if n := e.published(t, tc.event, req.OrderID); n != 0 {
					t.Errorf("%d events published by the failed %s", n, tc.call)
				}
			}
			got, err := call(svc(), tc.call)
			if err != nil || got.Status != tc.status {
				t.Fatalf("retried %s = %+v, %v; want %s", tc.call, got, err, tc.status)
			}
			if again, err := call(svc(), tc.call); err != nil || !paymentstest.Same(again, got) {
				t.Errorf("third %s = %+v, %v; want %+v", tc.call, again, err, got)
			}
			ref := e.ref(t, req.OrderID)
			if n := e.ops(t, tc.kind, ref); n != 1 {
				t.Errorf("%d %s operations at the gateway, want 1", n, tc.kind)
			}
			if n := e.count(t, `SELECT count(*) FROM payments.gateway_operations WHERE strpos(idempotency_key, $1) > 0`, req.OrderID); n != len(tc.setup)+1 {
				t.Errorf("%d operations at the gateway for the order, want %d", n, len(tc.setup)+1)
			}
			if n := e.published(t, tc.event, req.OrderID); n != 1 {
				t.Errorf("%d events %s, want 1", n, tc.event)
			}
		})
	}
}

// TestGatewayTroubleLeavesThePaymentAsItWas: a capture, void or refund the
// gateway fails or does not answer in time is KindUnavailable, the payment
// is unchanged and nothing is published; once the gateway works, the retry
// goes through, once.
func TestGatewayTroubleLeavesThePaymentAsItWas(t *testing.T) {
	t.Parallel()
	down := func(context.Context) error { return errors.New("503 service unavailable") }
	silent := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	for _, tc := range []struct {
		name    string
		trouble func(context.Context) error
		kind    string
		setup   []string
		call    string
		status  string
		event   string
	}{
		{"capture down", down, "capture", nil, "capture", payments.StatusCaptured, capturedEvent},
		{"capture silent", silent, "capture", nil, "capture", payments.StatusCaptured, capturedEvent},
		{"void down", down, "void", nil, "refund", payments.StatusVoided, refundedEvent},
		{"void silent", silent, "void", nil, "refund", payments.StatusVoided, refundedEvent},
		{"refund down", down, "refund", []string{"capture"}, "refund", payments.StatusRefunded, refundedEvent},
		{"refund silent", silent, "refund", []string{"capture"}, "refund", payments.StatusRefunded, refundedEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The gateway deadline is short so that the silent cases end
			// quickly, and only the trouble may meet it: the operations the
			// gateway answers run at the simulator without it. Under load the
			// simulator's transaction can outlast 100ms, and an authorization
			// cut by the deadline is recorded failed (and voided), after which
			// a refund has nothing to do and a capture conflicts.
			var broken atomic.Bool
			at := func(ctx context.Context, kind string, do func(context.Context) error) error {
				if kind == tc.kind && broken.Load() {
					return tc.trouble(ctx)
				}
				return do(context.WithoutCancel(ctx))
			}
			f := &fakeGateway{}
			f.authorize = func(ctx context.Context, card string, a gateway.Amount, key string) (gateway.Authorization, error) {
				var auth gateway.Authorization
				err := at(ctx, "authorize", func(ctx context.Context) (err error) {
					auth, err = f.inner.Authorize(ctx, card, a, key)
					return err
				})
				return auth, err
			}
			f.capture = func(ctx context.Context, ref string, a gateway.Amount, key string) error {
				return at(ctx, "capture", func(ctx context.Context) error { return f.inner.Capture(ctx, ref, a, key) })
			}
			f.void = func(ctx context.Context, ref, key string) error {
				return at(ctx, "void", func(ctx context.Context) error { return f.inner.Void(ctx, ref, key) })
			}
			f.refund = func(ctx context.Context, ref string, a gateway.Amount, key string) error {
				return at(ctx, "refund", func(ctx context.Context) error { return f.inner.Refund(ctx, ref, a, key) })
			}
			e := newEnv(t, 100*time.Millisecond, f)
			p := e.authorize(t, payments.CardApprove)
			if p.Status != payments.StatusAuthorized {
				t.Fatalf("authorization = %+v, want %s", p, payments.StatusAuthorized)
			}
			call := map[string]func(context.Context, string) (payments.Payment, error){"capture": e.api.Capture, "refund": e.api.Refund}
			for _, s := range tc.setup {
				var err error
				if p, err = call[s](svc(), p.OrderID); err != nil {
					t.Fatal(err)
				}
			}
			broken.Store(true)
			for range 2 {
				_, err := call[tc.call](svc(), p.OrderID)
				if !errs.Is(err, errs.KindUnavailable) {
					t.Fatalf("%s with the gateway in trouble: %v, want unavailable", tc.call, err)
				}
			}
			if now := e.payment(t, p.OrderID); !paymentstest.Same(now, p) {
				t.Errorf("payment changed to %+v, was %+v", now, p)
			}
			if n := e.published(t, tc.event, p.OrderID); n != 0 {
				t.Errorf("%d events published while the gateway was in trouble", n)
			}
			broken.Store(false)
			got, err := call[tc.call](svc(), p.OrderID)
			if err != nil || got.Status != tc.status {
				t.Fatalf("%s after recovery = %+v, %v", tc.call, got, err)
			}
			if n := e.ops(t, tc.kind, e.ref(t, p.OrderID)); n != 1 {
				t.Errorf("%d %s operations, want 1", n, tc.kind)
			}
			if n := e.published(t, tc.event, p.OrderID); n != 1 {
				t.Errorf("%d events %s", n, tc.event)
			}
		})
	}
}
