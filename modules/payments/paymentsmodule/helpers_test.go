package paymentsmodule_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/modules/payments/paymentsmodule"
	"github.com/shopmonolith/shop/modules/payments/paymentstest"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
)

// env is the real payments module on a fresh database, its gateway (the
// simulator) optionally wrapped by a fake, on a clock the test can move
// ahead. The bus is not started: the events a test expects are the rows in
// the module's outbox.
type env struct {
	cfg   config.Config
	dbs   *kernel.Databases
	mod   *paymentsmodule.Module
	api   payments.API
	clock *clock
}

// clock is the wall clock plus however far a test has moved it ahead, so
// that a test can make what was just recorded look old.
type clock struct{ ahead atomic.Int64 }

func (c *clock) now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond).Add(time.Duration(c.ahead.Load()))
}

func (c *clock) advance(d time.Duration) { c.ahead.Add(int64(d)) }

func newEnv(t *testing.T, gatewayTimeout time.Duration, fake *fakeGateway) *env {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Payments.GatewayTimeout = gatewayTimeout
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "payments")
	bus, err := events.NewBus(cfg, log, metrics.New(), dbs.Owner(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wrap func(gateway.Gateway) gateway.Gateway
	if fake != nil {
		wrap = func(inner gateway.Gateway) gateway.Gateway { fake.inner = inner; return fake }
	}
	c := &clock{}
	mod, err := paymentsmodule.NewWithGateway(ctx, dbs, log, cfg, bus, wrap, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return &env{cfg: cfg, dbs: dbs, mod: mod, api: mod.API(), clock: c}
}

var svc = paymentstest.Service

// authorize pays a new order of 1999 EUR cents with number.
func (e *env) authorize(t *testing.T, number string) payments.Payment {
	t.Helper()
	return paymentstest.Authorize(t, e.api, number)
}

// request is a new order's authorization request on number.
func (e *env) request(t *testing.T, number string) payments.AuthorizeRequest {
	t.Helper()
	return payments.AuthorizeRequest{
		OrderID: paymentstest.NewOrderID(), Amount: payments.Money{Amount: 1999, Currency: "EUR"},
		CardToken: paymentstest.Token(t, e.api, number),
	}
}

func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.dbs.Owner().Pool().QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// ref is the gateway's reference of the order's authorization.
func (e *env) ref(t *testing.T, orderID string) string {
	t.Helper()
	var ref string
	err := e.dbs.Owner().Pool().QueryRow(context.Background(),
		`SELECT provider_ref FROM payments.payments WHERE order_id = $1`, orderID).Scan(&ref)
	if err != nil || ref == "" {
		t.Fatalf("provider reference of %s: %q, %v", orderID, ref, err)
	}
	return ref
}

// ops counts the simulated gateway's operations of kind on the
// authorization ref, whatever their keys.
func (e *env) ops(t *testing.T, kind, ref string) int {
	t.Helper()
	return e.count(t, `SELECT count(*) FROM payments.gateway_operations WHERE kind = $1 AND provider_ref = $2`, kind, ref)
}

// published counts the events of type typ published for the order.
func (e *env) published(t *testing.T, typ, orderID string) int {
	t.Helper()
	return e.count(t, `SELECT count(*) FROM payments.event_outbox WHERE type = $1 AND key = $2`, typ, orderID)
}

func (e *env) payment(t *testing.T, orderID string) payments.Payment {
	t.Helper()
	p, err := e.api.Payment(svc(), orderID)
	if err != nil {
		t.Fatalf("Payment(%s): %v", orderID, err)
	}
	return p
}

// Event types, as the outbox stores them.
var (
	authorizedEvent = payments.PaymentAuthorized{}.EventType()
	rejectedEvent   = payments.PaymentRejected{}.EventType()
	capturedEvent   = payments.PaymentCaptured{}.EventType()
	refundedEvent   = payments.PaymentRefunded{}.EventType()
)

// fakeGateway runs each hook, when set, in place of the simulator's method;
// a hook may call the simulator (inner) itself.
type fakeGateway struct {
	inner     gateway.Gateway
	authorize func(ctx context.Context, card string, amount gateway.Amount, key string) (gateway.Authorization, error)
	capture   func(ctx context.Context, ref string, amount gateway.Amount, key string) error
	void      func(ctx context.Context, ref, key string) error
	refund    func(ctx context.Context, ref string, amount gateway.Amount, key string) error
}

var _ gateway.Gateway = (*fakeGateway)(nil)

func (f *fakeGateway) Authorize(ctx context.Context, card string, amount gateway.Amount, key string) (gateway.Authorization, error) {
	if f.authorize != nil {
		return f.authorize(ctx, card, amount, key)
	}
	return f.inner.Authorize(ctx, card, amount, key)
}

func (f *fakeGateway) Capture(ctx context.Context, ref string, amount gateway.Amount, key string) error {
	if f.capture != nil {
		return f.capture(ctx, ref, amount, key)
	}
	return f.inner.Capture(ctx, ref, amount, key)
}

func (f *fakeGateway) Void(ctx context.Context, ref, key string) error {
	if f.void != nil {
		return f.void(ctx, ref, key)
	}
	return f.inner.Void(ctx, ref, key)
}

func (f *fakeGateway) Refund(ctx context.Context, ref string, amount gateway.Amount, key string) error {
	if f.refund != nil {
		return f.refund(ctx, ref, amount, key)
	}
	return f.inner.Refund(ctx, ref, amount, key)
}

// gate holds callers until n of them have arrived, then lets every caller
// through: it makes n requests meet at the gateway at once. A caller whose
// ctx ends first returns its error.
type gate struct {
	n       int
	arrived atomic.Int64
	once    sync.Once
	open    chan struct{}
}

func newGate(n int) *gate { return &gate{n: n, open: make(chan struct{})} }

func (g *gate) wait(ctx context.Context) error {
	if int(g.arrived.Add(1)) >= g.n {
		g.once.Do(func() { close(g.open) })
	}
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parallel runs fn n times at once and waits for all.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
}
