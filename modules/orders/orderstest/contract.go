// Package orderstest is the behavioural contract of orders.API: the same
// suite runs against the in-process module and against any remote adapter,
// so that moving the module out of the process changes nothing a caller can
// see.
package orderstest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/errs/errstest"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// Shop is what the suite needs from the world around the orders module.
type Shop struct {
	// Customer returns the context of a new signed-in customer.
	Customer func(t *testing.T) context.Context
	// Admin returns the context of an admin.
	Admin func(t *testing.T) context.Context
	// Stock creates a product priced unitPrice minor units of EUR with
	// onHand units in stock, and returns its id.
	Stock func(t *testing.T, unitPrice int64, onHand int) string
	// AddToCart puts quantity of a product in the customer's cart.
	AddToCart func(t *testing.T, customer context.Context, productID string, quantity int)
	// Available returns the units of a product that can still be sold.
	Available func(t *testing.T, productID string) int
}

// Contract runs the suite; every case uses its own customers and products,
// so it can run again on the same database.
func Contract(t *testing.T, api orders.API, shop Shop) {
	t.Helper()
	c := &contract{api: api, shop: shop}
	t.Run("authentication", c.authentication)
	t.Run("validation", c.validation)
	t.Run("empty cart", c.emptyCart)
	t.Run("golden path", c.golden)
	t.Run("idempotent checkout", c.idempotent)
	t.Run("not enough stock", c.notEnoughStock)
	t.Run("payment declined", c.declined)
	t.Run("payment failures", c.paymentFailures)
	t.Run("cancel", c.cancel)
	t.Run("owners", c.owners)
	t.Run("shipping", c.shipping)
}

type contract struct {
	api  orders.API
	shop Shop
}

// buy fills a new customer's cart with quantity of a product (of its own,
// with stock units) and checks out with card.
func (c *contract) buy(t *testing.T, quantity, stock int, card string) (context.Context, string, orders.Order) {
	t.Helper()
	ctx := c.shop.Customer(t)
	product := c.shop.Stock(t, 1250, stock)
	c.shop.AddToCart(t, ctx, product, quantity)
	o, err := c.api.Checkout(ctx, orders.CheckoutRequest{IdempotencyKey: uuid.NewString(), CardNumber: card})
	if err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	return ctx, product, o
}

// settle waits until the order reaches a status where the saga rests.
func (c *contract) settle(t *testing.T, ctx context.Context, id string, done func(orders.Order) bool) orders.Order {
	t.Helper()
	var o orders.Order
	eventstest.Eventually(t, 15*time.Second, "order "+id+" settles", func() bool {
		var err error
		if o, err = c.api.Order(ctx, id); err != nil {
			t.Fatalf("Order: %v", err)
		}
		return done(o)
	})
	return o
}

func settled(o orders.Order) bool {
	switch o.Status {
	case orders.StatusConfirmed:
		return o.PaymentCaptured
	case orders.StatusRejected, orders.StatusFailed, orders.StatusShipped:
		return true
	case orders.StatusCancelled:
		return hasStep(o, orders.StepStockReleased)
	}
	return false
}

func hasStep(o orders.Order, step string) bool {
	return slices.ContainsFunc(o.Timeline, func(s orders.Step) bool { return s.Step == step })
}

func steps(o orders.Order) []string {
	out := make([]string, len(o.Timeline))
	for i, s := range o.Timeline {
		out[i] = s.Step
	}
	return out
}

func (c *contract) authentication(t *testing.T) {
	ctx := context.Background()
	_, err := c.api.Checkout(ctx, orders.CheckoutRequest{IdempotencyKey: "k", CardNumber: payments.CardApprove})
	errstest.Kind(t, err, errs.KindUnauthenticated)
	_, err = c.api.Order(ctx, uuid.NewString())
	errstest.Kind(t, err, errs.KindUnauthenticated)
	_, err = c.api.Orders(ctx, orders.Query{})
	errstest.Kind(t, err, errs.KindUnauthenticated)
	_, err = c.api.Cancel(ctx, uuid.NewString())
	errstest.Kind(t, err, errs.KindUnauthenticated)
	_, err = c.api.MarkShipped(ctx, uuid.NewString())
	errstest.Kind(t, err, errs.KindUnauthenticated)
	_, err = c.api.MarkShipped(c.shop.Customer(t), uuid.NewString())
	errstest.Kind(t, err, errs.KindForbidden)
}

func (c *contract) validation(t *testing.T) {
	ctx := c.shop.Customer(t)
	c.shop.AddToCart(t, ctx, c.shop.Stock(t, 100, 5), 1)
	for _, tc := range []struct {
		req   orders.CheckoutRequest
		field string
	}{
		{orders.CheckoutRequest{CardNumber: payments.CardApprove}, "idempotency_key"},
		{orders.CheckoutRequest{IdempotencyKey: strings.Repeat("k", 201), CardNumber: payments.CardApprove}, "idempotency_key"},
		{orders.CheckoutRequest{IdempotencyKey: uuid.NewString(), CardNumber: "4242424242424241"}, "card_number"},
		{orders.CheckoutRequest{IdempotencyKey: uuid.NewString(), CardNumber: "not a card"}, "card_number"},
	} {
		_, err := c.api.Checkout(ctx, tc.req)
		errstest.Kind(t, err, errs.KindInvalid)
		if !strings.Contains(errstest.Fields(err), tc.field) {
			t.Errorf("%+v: error %v names %q, want %s", tc.req, err, errstest.Fields(err), tc.field)
		}
	}
	page, err := c.api.Orders(ctx, orders.Query{})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("after invalid checkouts: orders %+v, %v; want none", page.Items, err)
	}
	for q, field := range map[orders.Query]string{{Limit: 101}: "limit", {Status: "lost"}: "status", {After: "x"}: "after", {UserID: "x"}: "user_id"} {
		_, err := c.api.Orders(ctx, q)
		if !errs.Is(err, errs.KindInvalid) || !strings.Contains(errstest.Fields(err), field) {
			t.Errorf("Orders(%+v) = %v, want invalid %s", q, err, field)
		}
	}
	for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
		_, err := c.api.Order(ctx, id)
		errstest.Kind(t, err, errs.KindNotFound)
	}
}

func (c *contract) emptyCart(t *testing.T) {
	_, err := c.api.Checkout(c.shop.Customer(t), orders.CheckoutRequest{IdempotencyKey: uuid.NewString(), CardNumber: payments.CardApprove})
	errstest.Kind(t, err, errs.KindConflict)
	if !strings.Contains(errstest.Fields(err), "cart") {
		t.Errorf("empty cart: %v, want it to name cart", err)
	}
}

func (c *contract) golden(t *testing.T) {
	ctx, product, placed := c.buy(t, 3, 10, payments.CardApprove)
	if placed.Status != orders.StatusPlaced || len(placed.Items) != 1 || placed.Total.Amount != 3*1250 || placed.CardLast4 != "4242" {
		t.Fatalf("placed order = %+v", placed)
	}
	if it := placed.Items[0]; it.ProductID != product || it.Quantity != 3 || it.UnitPrice.Amount != 1250 || it.LineTotal.Amount != 3750 {
		t.Errorf("item snapshot = %+v", it)
	}
	o := c.settle(t, ctx, placed.ID, settled)
	if o.Status != orders.StatusConfirmed {
		t.Fatalf("order = %s (%s), want confirmed", o.Status, o.Reason)
	}
	want := []string{orders.StepPlaced, orders.StepStockReserved, orders.StepPaymentAuthorized, orders.StepConfirmed,
		orders.StepStockCommitted, orders.StepPaymentCaptured}
	if got := steps(o); !slices.Equal(got, want) {
		t.Errorf("timeline = %v, want %v", got, want)
	}
	if got := c.shop.Available(t, product); got != 7 {
		t.Errorf("available after the sale = %d, want 7", got)
	}
	page, err := c.api.Orders(ctx, orders.Query{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != o.ID {
		t.Errorf("history = %+v, %v; want the one order", page.Items, err)
	}
}

func (c *contract) idempotent(t *testing.T) {
	ctx := c.shop.Customer(t)
	product := c.shop.Stock(t, 500, 10)
	c.shop.AddToCart(t, ctx, product, 1)
	req := orders.CheckoutRequest{IdempotencyKey: uuid.NewString(), CardNumber: payments.CardApprove}
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ids  = map[string]int{}
		news int
	)
	for range n {
		wg.Go(func() {
			o, err := c.api.Checkout(ctx, req)
			if err != nil {
				t.Errorf("Checkout: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[o.ID]++
			if !o.Replayed {
				news++
			}
		})
	}
	wg.Wait()
	if len(ids) != 1 || news != 1 {
		t.Fatalf("%d concurrent checkouts with one key: orders %v, %d new; want one order, created once", n, ids, news)
	}
	again, err := c.api.Checkout(ctx, req)
	if err != nil || !again.Replayed || ids[again.ID] == 0 {
		t.Fatalf("retry = %+v, %v; want the same order, replayed", again, err)
	}
	other := req
	other.CardNumber = payments.CardDecline
	_, err = c.api.Checkout(ctx, other)
	errstest.Kind(t, err, errs.KindConflict)
	page, err := c.api.Orders(ctx, orders.Query{})
	if err != nil || len(page.Items) != 1 {
		t.Errorf("orders = %d, %v; want 1", len(page.Items), err)
	}
	c.settle(t, ctx, again.ID, settled)
	if got := c.shop.Available(t, product); got != 9 {
		t.Errorf("available = %d, want 9 (one unit sold once)", got)
	}
}

// notEnoughStock has more customers than units check out at once: as many
// orders as units are confirmed, the others are rejected by the saga (or,
// when a cart already saw the stock gone, refused at checkout).
func (c *contract) notEnoughStock(t *testing.T) {
	const units, buyers = 2, 6
	product := c.shop.Stock(t, 100, units)
	ctxs := make([]context.Context, buyers)
	for i := range ctxs {
		ctxs[i] = c.shop.Customer(t)
		c.shop.AddToCart(t, ctxs[i], product, 1)
	}
	placed := make([]string, buyers)
	var wg sync.WaitGroup
	for i, ctx := range ctxs {
		wg.Go(func() {
			o, err := c.api.Checkout(ctx, orders.CheckoutRequest{IdempotencyKey: uuid.NewString(), CardNumber: payments.CardApprove})
			switch {
			case errs.Is(err, errs.KindConflict):
			case err != nil:
				t.Errorf("Checkout: %v", err)
			default:
				placed[i] = o.ID
			}
		})
	}
	wg.Wait()
	count := map[string]int{}
	for i, id := range placed {
		if id == "" {
			continue
		}
		o := c.settle(t, ctxs[i], id, settled)
		count[o.Status]++
		if o.Status == orders.StatusRejected && !strings.Contains(o.Reason, "not enough stock") {
			t.Errorf("rejected with reason %q", o.Reason)
		}
	}
	if count[orders.StatusConfirmed] != units || count[orders.StatusConfirmed]+count[orders.StatusRejected] != len(slices.DeleteFunc(placed, func(s string) bool { return s == "" })) {
		t.Errorf("outcomes %v, want %d confirmed and the other placed orders rejected", count, units)
	}
	if got := c.shop.Available(t, product); got != 0 {
		t.Errorf("available = %d, want 0", got)
	}
}

func (c *contract) declined(t *testing.T) {
	ctx, product, placed := c.buy(t, 2, 5, payments.CardDecline)
	o := c.settle(t, ctx, placed.ID, settled)
	if o.Status != orders.StatusFailed || o.Reason != payments.ReasonCardDeclined {
		t.Fatalf("order = %s (%q), want failed: %s (the payment's reason)", o.Status, o.Reason, payments.ReasonCardDeclined)
	}
	if !hasStep(o, orders.StepStockReleased) {
		t.Errorf("timeline %v lacks the stock release", steps(o))
	}
	if got := c.shop.Available(t, product); got != 5 {
		t.Errorf("available = %d, want all 5 back", got)
	}
}

func (c *contract) paymentFailures(t *testing.T) {
	for card, reason := range map[string]string{payments.CardFail: payments.ReasonProcessingError, payments.CardTimeout: payments.ReasonGatewayTimeout} {
		ctx, product, placed := c.buy(t, 1, 3, card)
		o := c.settle(t, ctx, placed.ID, settled)
		if o.Status != orders.StatusFailed || o.Reason != reason {
			t.Errorf("card %s: order = %s (%q), want failed: %s (the payment's reason)", card, o.Status, o.Reason, reason)
		}
		if got := c.shop.Available(t, product); got != 3 {
			t.Errorf("card %s: available = %d, want 3", card, got)
		}
	}
}

func (c *contract) cancel(t *testing.T) {
	ctx, product, placed := c.buy(t, 2, 4, payments.CardApprove)
	c.settle(t, ctx, placed.ID, settled)
	o, err := c.api.Cancel(ctx, placed.ID)
	if err != nil || o.Status != orders.StatusCancelled {
		t.Fatalf("Cancel = %+v, %v", o, err)
	}
	o = c.settle(t, ctx, placed.ID, func(o orders.Order) bool { return hasStep(o, orders.StepPaymentRefunded) })
	if !hasStep(o, orders.StepStockReleased) {
		t.Errorf("timeline %v lacks the stock release", steps(o))
	}
	if got := c.shop.Available(t, product); got != 4 {
		t.Errorf("available after cancelling = %d, want 4", got)
	}
	again, err := c.api.Cancel(ctx, placed.ID)
	if err != nil || again.Status != orders.StatusCancelled {
		t.Errorf("second Cancel = %s, %v; want unchanged", again.Status, err)
	}
	// A failed order cannot be cancelled.
	ctx2, _, failed := c.buy(t, 1, 1, payments.CardDecline)
	c.settle(t, ctx2, failed.ID, settled)
	_, err = c.api.Cancel(ctx2, failed.ID)
	errstest.Kind(t, err, errs.KindConflict)
}

func (c *contract) owners(t *testing.T) {
	a, _, placed := c.buy(t, 1, 2, payments.CardApprove)
	b := c.shop.Customer(t)
	_, err := c.api.Order(b, placed.ID)
	errstest.Kind(t, err, errs.KindNotFound)
	_, err = c.api.Cancel(b, placed.ID)
	errstest.Kind(t, err, errs.KindNotFound)
	mine, _ := auth.FromContext(a)
	page, err := c.api.Orders(b, orders.Query{UserID: mine.UserID})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("B listing A's orders = %d, %v; want none", len(page.Items), err)
	}
	admin := c.shop.Admin(t)
	if _, err := c.api.Order(admin, placed.ID); err != nil {
		t.Errorf("admin reading an order: %v", err)
	}
	page, err = c.api.Orders(admin, orders.Query{UserID: mine.UserID})
	if err != nil || len(page.Items) != 1 {
		t.Errorf("admin listing A's orders = %d, %v; want 1", len(page.Items), err)
	}
	c.settle(t, a, placed.ID, settled)
}

func (c *contract) shipping(t *testing.T) {
	ctx, _, placed := c.buy(t, 1, 2, payments.CardApprove)
	admin := c.shop.Admin(t)
	c.settle(t, ctx, placed.ID, settled)
	_, err := c.api.MarkShipped(ctx, placed.ID)
	errstest.Kind(t, err, errs.KindForbidden)
	o, err := c.api.MarkShipped(admin, placed.ID)
	if err != nil || o.Status != orders.StatusShipped {
		t.Fatalf("MarkShipped = %+v, %v", o.Status, err)
	}
	if o, err = c.api.MarkShipped(admin, placed.ID); err != nil || o.Status != orders.StatusShipped {
		t.Errorf("second MarkShipped = %s, %v; want unchanged", o.Status, err)
	}
	_, err = c.api.Cancel(ctx, placed.ID)
	errstest.Kind(t, err, errs.KindConflict)
	_, err = c.api.MarkShipped(admin, uuid.NewString())
	errstest.Kind(t, err, errs.KindNotFound)
}
