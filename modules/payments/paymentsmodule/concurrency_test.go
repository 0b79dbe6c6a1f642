package paymentsmodule_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/modules/payments/paymentstest"
	"github.com/shopmonolith/shop/platform/errs"
)

const callers = 20

// TestConcurrentAuthorizeAuthorizesOnce: twenty calls for one order meet at
// the gateway at once. The gateway authorizes once (one key), the order
// gets one payment, every caller gets that payment, and one event is
// published.
func TestConcurrentAuthorizeAuthorizesOnce(t *testing.T) {
	t.Parallel()
	g, f := newGate(callers), &fakeGateway{}
	f.authorize = func(ctx context.Context, card string, amount gateway.Amount, key string) (gateway.Authorization, error) {
		if err := g.wait(ctx); err != nil {
			return gateway.Authorization{}, err
		}
		return f.inner.Authorize(ctx, card, amount, key)
	}
	e := newEnv(t, 10*time.Second, f)
	req := e.request(t, payments.CardApprove)
	got, errs := make([]payments.Payment, callers), make([]error, callers)
	parallel(callers, func(i int) { got[i], errs[i] = e.api.Authorize(svc(), req) })
	for i := range callers {
		if errs[i] != nil || got[i].Status != payments.StatusAuthorized || !paymentstest.Same(got[i], got[0]) {
			t.Fatalf("caller %d: %+v, %v; want %+v", i, got[i], errs[i], got[0])
		}
	}
	if n := e.count(t, `SELECT count(*) FROM payments.gateway_operations WHERE kind = 'authorize' AND strpos(idempotency_key, $1) > 0`,
		req.OrderID); n != 1 {
		t.Errorf("%d authorizations at the gateway, want 1", n)
	}
	if n := e.ops(t, "authorize", e.ref(t, req.OrderID)); n != 1 {
		t.Errorf("the payment's reference is on %d authorizations, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM payments.payments WHERE order_id = $1`, req.OrderID); n != 1 {
		t.Errorf("%d payments for the order", n)
	}
	if a, r := e.published(t, authorizedEvent, req.OrderID), e.published(t, rejectedEvent, req.OrderID); a != 1 || r != 0 {
		t.Errorf("published %d authorized and %d rejected events, want 1 and 0", a, r)
	}
}

// TestConcurrentCaptureAndRefundHappenOnce: twenty captures of one payment
// meet at the gateway at once, then twenty refunds do; then both are
// repeated. The gateway's ledger holds one capture and one refund, and one
// event of each is published.
func TestConcurrentCaptureAndRefundHappenOnce(t *testing.T) {
	t.Parallel()
	captures, refunds, f := newGate(callers), newGate(callers), &fakeGateway{}
	f.capture = func(ctx context.Context, ref string, amount gateway.Amount, key string) error {
		if err := captures.wait(ctx); err != nil {
			return err
		}
		return f.inner.Capture(ctx, ref, amount, key)
	}
	f.refund = func(ctx context.Context, ref string, amount gateway.Amount, key string) error {
		if err := refunds.wait(ctx); err != nil {
			return err
		}
		return f.inner.Refund(ctx, ref, amount, key)
	}
	e := newEnv(t, 10*time.Second, f)
	p := e.authorize(t, payments.CardApprove)
	ref := e.ref(t, p.OrderID)

	for _, step := range []struct {
		call   func(context.Context, string) (payments.Payment, error)
		status string
	}{{e.api.Capture, payments.StatusCaptured}, {e.api.Refund, payments.StatusRefunded}} {
		got, errs := make([]payments.Payment, callers), make([]error, callers)
		parallel(callers, func(i int) { got[i], errs[i] = step.call(svc(), p.OrderID) })
		for range 3 { // and retried later, one by one
			again, err := step.call(svc(), p.OrderID)
			got, errs = append(got, again), append(errs, err)
		}
		for i := range got {
			if errs[i] != nil || got[i].Status != step.status || !paymentstest.Same(got[i], got[0]) {
				t.Fatalf("%s caller %d: %+v, %v; want %+v", step.status, i, got[i], errs[i], got[0])
			}
		}
	}
	for kind, want := range map[string]int{"capture": 1, "refund": 1, "void": 0} {
		if n := e.ops(t, kind, ref); n != want {
			t.Errorf("%d %s operations at the gateway, want %d", n, kind, want)
		}
	}
	if c, r := e.published(t, capturedEvent, p.OrderID), e.published(t, refundedEvent, p.OrderID); c != 1 || r != 1 {
		t.Errorf("published %d captured and %d refunded events, want 1 and 1", c, r)
	}
}

// TestCaptureRacingRefund: captures and refunds of one payment run at once.
// Whichever starts first decides: either the authorization is voided (and
// never captured), or it is captured and then refunded. Never both, never
// twice, and the events say the same as the gateway's ledger.
func TestCaptureRacingRefund(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 10*time.Second, nil)
	for round := range 5 {
		p := e.authorize(t, payments.CardApprove)
		ref := e.ref(t, p.OrderID)
		captured := make([]bool, callers)
		parallel(callers, func(i int) {
			call := e.api.Refund
			if i%2 == 0 {
				call = e.api.Capture
			}
			got, err := call(svc(), p.OrderID)
			switch {
			case err == nil:
				captured[i] = got.Status == payments.StatusCaptured
			case i%2 == 1 || !errs.Is(err, errs.KindConflict):
				t.Errorf("round %d caller %d: %v", round, i, err)
			}
		})
		final := e.payment(t, p.OrderID)
		t.Logf("round %d ended %s", round, final.Status)
		var want map[string]int
		switch final.Status {
		case payments.StatusVoided:
			want = map[string]int{"capture": 0, "void": 1, "refund": 0, capturedEvent: 0, refundedEvent: 1}
			for i, c := range captured {
				if c {
					t.Errorf("round %d: caller %d saw a capture of a payment that ended voided", round, i)
				}
			}
		case payments.StatusRefunded:
			want = map[string]int{"capture": 1, "void": 0, "refund": 1, capturedEvent: 1, refundedEvent: 1}
		default:
			t.Fatalf("round %d: final status %s", round, final.Status)
		}
		for kind, n := range want {
			got := 0
			if kind == capturedEvent || kind == refundedEvent {
				got = e.published(t, kind, p.OrderID)
			} else {
				got = e.ops(t, kind, ref)
			}
			if got != n {
				t.Errorf("round %d (%s): %d × %s, want %d", round, final.Status, got, kind, n)
			}
		}
	}
}
