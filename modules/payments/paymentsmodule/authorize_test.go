package paymentsmodule_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/platform/errs"
)

// TestTimeoutCard: the gateway never answers; after the gateway deadline
// the payment is failed with gateway_timeout, the rejection is published,
// and the authorization is cancelled by its idempotency key in case the
// gateway approved it after all.
func TestTimeoutCard(t *testing.T) {
	t.Parallel()
	// The deadline also bounds the best-effort void after the timeout: a
	// second, so a busy machine still lands it.
	e := newEnv(t, time.Second, nil)
	p := e.authorize(t, payments.CardTimeout)
	if p.Status != payments.StatusFailed || p.Reason != "gateway_timeout" || p.AuthorizedAt != nil {
		t.Fatalf("payment %+v, want failed gateway_timeout", p)
	}
	if n := e.published(t, rejectedEvent, p.OrderID); n != 1 {
		t.Errorf("%d rejections published", n)
	}
	var kind, ref string
	err := e.dbs.Owner().Pool().QueryRow(context.Background(),
		`SELECT kind, provider_ref FROM payments.gateway_operations WHERE idempotency_key = $1`, "void:"+p.OrderID).Scan(&kind, &ref)
	if err != nil || kind != "void" || ref != "authorize:"+p.OrderID {
		t.Errorf("void by key: %s %s, %v; want a void of authorize:%s", kind, ref, err, p.OrderID)
	}
	if n := e.count(t, `SELECT count(*) FROM payments.gateway_operations WHERE idempotency_key = $1`, "authorize:"+p.OrderID); n != 0 {
		t.Errorf("the timeout card was authorized %d times", n)
	}
	// A retry returns the failed payment: the order's authorization is over.
	if again, err := e.api.Refund(svc(), p.OrderID); err != nil || again.Status != payments.StatusFailed {
		t.Errorf("Refund of the failed payment = %+v, %v", again, err)
	}
}

// TestLateApprovalAfterATimeoutIsVoided: the gateway approves, but its
// answer arrives after the deadline. The payment is failed, and the void by
// the authorization's key releases what the gateway holds.
func TestLateApprovalAfterATimeoutIsVoided(t *testing.T) {
	t.Parallel()
	f := &fakeGateway{}
	f.authorize = func(ctx context.Context, card string, amount gateway.Amount, key string) (gateway.Authorization, error) {
		if _, err := f.inner.Authorize(ctx, card, amount, key); err != nil {
			return gateway.Authorization{}, err
		}
		<-ctx.Done() // the answer is on its way when the deadline passes
		return gateway.Authorization{}, ctx.Err()
	}
	e := newEnv(t, time.Second, f)
	p := e.authorize(t, payments.CardApprove)
	if p.Status != payments.StatusFailed || p.Reason != "gateway_timeout" {
		t.Fatalf("payment %+v, want failed gateway_timeout", p)
	}
	var ref string
	if err := e.dbs.Owner().Pool().QueryRow(context.Background(),
		`SELECT provider_ref FROM payments.gateway_operations WHERE idempotency_key = $1`, "authorize:"+p.OrderID).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	if n := e.ops(t, "void", ref); n != 1 {
		t.Errorf("the late authorization %s was voided %d times, want 1", ref, n)
	}
}

// TestAuthorizeRetriesGatewayErrors: an erring gateway is asked again, a
// few times, quickly; a success on a retry authorizes, and errors on every
// attempt fail the payment with processing_error.
func TestAuthorizeRetriesGatewayErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		card      string
		failFirst int64 // attempts the fake fails before asking the simulator
		calls     int64
		status    string
		reason    string
	}{
		{"first attempt", payments.CardApprove, 0, 1, payments.StatusAuthorized, ""},
		{"third attempt", payments.CardApprove, 2, 3, payments.StatusAuthorized, ""},
		{"fourth attempt", payments.CardApprove, 3, 4, payments.StatusAuthorized, ""},
		{"never", payments.CardFail, 0, 4, payments.StatusFailed, "processing_error"},
		{"a decline ends the retries", payments.CardDecline, 1, 2, payments.StatusDeclined, "card_declined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			f := &fakeGateway{}
			f.authorize = func(ctx context.Context, card string, amount gateway.Amount, key string) (gateway.Authorization, error) {
				if calls.Add(1) <= tc.failFirst {
					return gateway.Authorization{}, errors.New("502 bad gateway")
				}
				return f.inner.Authorize(ctx, card, amount, key)
			}
			e := newEnv(t, 5*time.Second, f)
			p := e.authorize(t, tc.card)
			if p.Status != tc.status || p.Reason != tc.reason || calls.Load() != tc.calls {
				t.Errorf("payment %s %q after %d calls, want %s %q after %d", p.Status, p.Reason, calls.Load(), tc.status, tc.reason, tc.calls)
			}
		})
	}
}

// TestCallerGivingUpRecordsNothing: when the caller's context ends while
// the gateway works, nothing is recorded (the caller is told to retry);
// the retry authorizes with the same key.
func TestCallerGivingUpRecordsNothing(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	var first atomic.Bool
	first.Store(true)
	f := &fakeGateway{}
	f.authorize = func(ctx context.Context, card string, amount gateway.Amount, key string) (gateway.Authorization, error) {
		if first.CompareAndSwap(true, false) {
			close(arrived)
			<-ctx.Done()
			return gateway.Authorization{}, ctx.Err()
		}
		return f.inner.Authorize(ctx, card, amount, key)
	}
	e := newEnv(t, 10*time.Second, f)
	req := e.request(t, payments.CardApprove)
	ctx, cancel := context.WithCancel(svc())
	done := make(chan error, 1)
	go func() {
		_, err := e.api.Authorize(ctx, req)
		done <- err
	}()
	<-arrived
	cancel()
	if err := <-done; !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("Authorize with a cancelled caller: %v, want unavailable", err)
	}
	if _, err := e.api.Payment(svc(), req.OrderID); !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("a payment was recorded for a caller who gave up: %v", err)
	}
	p, err := e.api.Authorize(svc(), req)
	if err != nil || p.Status != payments.StatusAuthorized {
		t.Fatalf("retry = %+v, %v", p, err)
	}
	if n := e.published(t, authorizedEvent, req.OrderID) + e.published(t, rejectedEvent, req.OrderID); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

// TestRefundFinishesAPendingCapture: a capture the gateway did not confirm
// is pending. A refund must not void the authorization (the gateway may
// have taken the money): it finishes the capture with its key, then
// refunds it.
func TestRefundFinishesAPendingCapture(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	f := &fakeGateway{}
	f.capture = func(ctx context.Context, ref string, amount gateway.Amount, key string) error {
		if broken.Load() {
			return errors.New("503 service unavailable")
		}
		return f.inner.Capture(ctx, ref, amount, key)
	}
	e := newEnv(t, 5*time.Second, f)
	p := e.authorize(t, payments.CardApprove)
	broken.Store(true)
	if _, err := e.api.Capture(svc(), p.OrderID); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("Capture: %v, want unavailable", err)
	}
	if _, err := e.api.Refund(svc(), p.OrderID); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("Refund while the capture cannot finish: %v, want unavailable", err)
	}
	broken.Store(false)
	got, err := e.api.Refund(svc(), p.OrderID)
	if err != nil || got.Status != payments.StatusRefunded || got.CapturedAt == nil {
		t.Fatalf("Refund = %+v, %v; want refunded after a capture", got, err)
	}
	ref := e.ref(t, p.OrderID)
	for kind, want := range map[string]int{"capture": 1, "refund": 1, "void": 0} {
		if n := e.ops(t, kind, ref); n != want {
			t.Errorf("%d %s operations, want %d", n, kind, want)
		}
	}
	if c, r := e.published(t, capturedEvent, p.OrderID), e.published(t, refundedEvent, p.OrderID); c != 1 || r != 1 {
		t.Errorf("published %d captured and %d refunded, want 1 and 1", c, r)
	}
}

// TestCaptureRefusedWhileAVoidIsPending: a void the gateway did not confirm
// is pending; a capture is refused (the authorization is being released),
// and the void's retry completes it.
func TestCaptureRefusedWhileAVoidIsPending(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	f := &fakeGateway{}
	f.void = func(ctx context.Context, ref, key string) error {
		if broken.Load() {
			return errors.New("503 service unavailable")
		}
		return f.inner.Void(ctx, ref, key)
	}
	e := newEnv(t, 5*time.Second, f)
	p := e.authorize(t, payments.CardApprove)
	broken.Store(true)
	if _, err := e.api.Refund(svc(), p.OrderID); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("Refund: %v, want unavailable", err)
	}
	broken.Store(false)
	if _, err := e.api.Capture(svc(), p.OrderID); !errs.Is(err, errs.KindConflict) {
		t.Fatalf("Capture while voiding: %v, want conflict", err)
	}
	if now := e.payment(t, p.OrderID); now.Status != payments.StatusAuthorized {
		t.Fatalf("status %s, want authorized until the void is confirmed", now.Status)
	}
	got, err := e.api.Refund(svc(), p.OrderID)
	if err != nil || got.Status != payments.StatusVoided {
		t.Fatalf("Refund = %+v, %v", got, err)
	}
	ref := e.ref(t, p.OrderID)
	if c, v := e.ops(t, "capture", ref), e.ops(t, "void", ref); c != 0 || v != 1 {
		t.Errorf("%d captures and %d voids, want 0 and 1", c, v)
	}
}
