package carttest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/errs/errstest"
)

// Shop is what the suite needs from outside the cart: products to put in
// it, and their prices, visibility and stock. Each function fails t when
// it cannot do its job.
type Shop struct {
	// NewProduct creates a product customers can buy, priced priceMinor of
	// currency, with nothing in stock, and returns its id.
	NewProduct func(t *testing.T, priceMinor int64, currency string) string
	// SetPrice changes a product's list price, in its currency.
	SetPrice func(t *testing.T, productID string, priceMinor int64)
	// HideProduct makes a product invisible to customers.
	HideProduct func(t *testing.T, productID string)
	// SetStock sets how many units of a product are available.
	SetStock func(t *testing.T, productID string, available int)
}

// Contract runs the behavioural suite of cart.API against api. Every case
// works on carts of new random users and on new products, so it can run
// again and again on the same database.
func Contract(t *testing.T, api cart.API, shop Shop) {
	t.Helper()
	c := &contract{api: api, shop: shop}
	t.Run("authentication", c.authentication)
	t.Run("empty cart", c.emptyCart)
	t.Run("add and read", c.addAndRead)
	t.Run("quantity limits", c.quantityLimits)
	t.Run("unknown products", c.unknownProducts)
	t.Run("one currency", c.oneCurrency)
	t.Run("line limit", c.lineLimit)
	t.Run("set quantity", c.setQuantity)
	t.Run("remove and clear", c.removeAndClear)
	t.Run("users never share a cart", c.isolation)
	t.Run("priced now", c.pricedNow)
	t.Run("hidden product stays unavailable", c.hiddenProduct)
}

type contract struct {
	api  cart.API
	shop Shop
}

// user returns the context of a new customer (or admin) and their id.
func user(role auth.Role) (context.Context, string) {
	id := uuid.NewString()
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: id, Role: role}), id
}

func customer() context.Context {
	ctx, _ := user(auth.RoleCustomer)
	return ctx
}

// wantField checks the kind and that the error names field.
func wantField(t *testing.T, err error, kind errs.Kind, field string) {
	t.Helper()
	errstest.Kind(t, err, kind)
	var e *errs.Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			if f.Field == field {
				return
			}
		}
	}
	t.Fatalf("err = %v, want it to name %q", err, field)
}

// must turns a (cart, error) result into the cart, failing on an error.
func must(t *testing.T) func(cart.Cart, error) cart.Cart {
	return func(c cart.Cart, err error) cart.Cart {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// quantities maps product id to quantity.
func quantities(c cart.Cart) map[string]int {
	out := map[string]int{}
	for _, it := range c.Items {
		out[it.ProductID] = it.Quantity
	}
	return out
}

func item(t *testing.T, c cart.Cart, productID string) cart.Item {
	t.Helper()
	for _, it := range c.Items {
		if it.ProductID == productID {
			return it
		}
	}
	t.Fatalf("cart %+v has no line of %s", c, productID)
	return cart.Item{}
}

func (c *contract) authentication(t *testing.T) {
	anon, id := context.Background(), uuid.NewString()
	_, err := c.api.Cart(anon)
	errstest.Kind(t, err, errs.KindUnauthenticated)
	_, err = c.api.AddItem(anon, id, 1)
	errstest.Kind(t, err, errs.KindUnauthenticated)
	_, err = c.api.SetQuantity(anon, id, 1)
	errstest.Kind(t, err, errs.KindUnauthenticated)
	_, err = c.api.RemoveItem(anon, id)
	errstest.Kind(t, err, errs.KindUnauthenticated)
	errstest.Kind(t, c.api.Clear(anon), errs.KindUnauthenticated)
}

func (c *contract) emptyCart(t *testing.T) {
	ctx, id := user(auth.RoleCustomer)
	got := must(t)(c.api.Cart(ctx))
	if got.UserID != id || got.Items == nil || len(got.Items) != 0 || got.Total.Amount != 0 || got.Stale {
		t.Fatalf("new user's cart = %+v, want empty, with items [] and their id", got)
	}
}

func (c *contract) addAndRead(t *testing.T) {
	for _, role := range []auth.Role{auth.RoleCustomer, auth.RoleAdmin} {
		ctx, id := user(role)
		mug, tea := c.shop.NewProduct(t, 1250, "EUR"), c.shop.NewProduct(t, 300, "EUR")
		c.shop.SetStock(t, mug, 10)

		got := must(t)(c.api.AddItem(ctx, mug, 2))
		if len(got.Items) != 1 || got.UserID != id || got.UpdatedAt.IsZero() || got.Stale {
			t.Fatalf("%s: after one add: %+v", role, got)
		}
		it := got.Items[0]
		want := cart.Item{ProductID: mug, SKU: it.SKU, Name: it.Name, Quantity: 2,
			UnitPrice: cart.Money{Amount: 1250, Currency: "EUR"}, LineTotal: cart.Money{Amount: 2500, Currency: "EUR"},
			Available: 10, InStock: true}
		if it != want || it.SKU == "" || it.Name == "" {
			t.Fatalf("%s: line = %+v, want %+v with a SKU and a name", role, it, want)
		}

		must(t)(c.api.AddItem(ctx, mug, 3)) // adds to the line
		got = must(t)(c.api.AddItem(ctx, tea, 1))
		if len(got.Items) != 2 || got.Items[0].ProductID != mug || got.Items[1].ProductID != tea {
			t.Fatalf("%s: lines %+v, want mug then tea, in the order added", role, got.Items)
		}
		if m := got.Items[0]; m.Quantity != 5 || m.LineTotal.Amount != 6250 || !m.InStock {
			t.Errorf("%s: mug line %+v, want 5 for 6250 in stock", role, m)
		}
		if tl := got.Items[1]; tl.Available != 0 || tl.InStock {
			t.Errorf("%s: tea line %+v, want none available, not in stock", role, tl)
		}
		if got.Total != (cart.Money{Amount: 6550, Currency: "EUR"}) {
			t.Errorf("%s: total %+v, want 6550 EUR", role, got.Total)
		}
		read := must(t)(c.api.Cart(ctx))
		if len(read.Items) != 2 || read.Total != got.Total || !read.UpdatedAt.Equal(got.UpdatedAt) {
			t.Errorf("%s: Cart = %+v, want what AddItem returned: %+v", role, read, got)
		}
	}
}

func (c *contract) quantityLimits(t *testing.T) {
	ctx, p := customer(), c.shop.NewProduct(t, 100, "EUR")
	for _, q := range []int{0, -1, 100} {
		_, err := c.api.AddItem(ctx, p, q)
		wantField(t, err, errs.KindInvalid, "quantity")
	}
	must(t)(c.api.AddItem(ctx, p, 98))
	_, err := c.api.AddItem(ctx, p, 2)
	wantField(t, err, errs.KindInvalid, "quantity")
	got := must(t)(c.api.AddItem(ctx, p, 1))
	if q := quantities(got)[p]; q != 99 {
		t.Fatalf("quantity %d, want 99: the refused add changed nothing", q)
	}
}

func (c *contract) unknownProducts(t *testing.T) {
	ctx, hidden := customer(), c.shop.NewProduct(t, 100, "EUR")
	c.shop.HideProduct(t, hidden)
	for _, id := range []string{uuid.NewString(), "not-a-uuid", "", hidden} {
		_, err := c.api.AddItem(ctx, id, 1)
		wantField(t, err, errs.KindNotFound, "product_id")
	}
	if got := must(t)(c.api.Cart(ctx)); len(got.Items) != 0 {
		t.Fatalf("cart %+v after refused adds, want empty", got)
	}
}

func (c *contract) oneCurrency(t *testing.T) {
	ctx := customer()
	eur, usd := c.shop.NewProduct(t, 100, "EUR"), c.shop.NewProduct(t, 100, "USD")
	must(t)(c.api.AddItem(ctx, eur, 1))
	_, err := c.api.AddItem(ctx, usd, 1)
	wantField(t, err, errs.KindConflict, "product_id")
	// Once the cart is empty it takes any currency.
	must(t)(c.api.RemoveItem(ctx, eur))
	got := must(t)(c.api.AddItem(ctx, usd, 1))
	if got.Total != (cart.Money{Amount: 100, Currency: "USD"}) {
		t.Fatalf("total %+v, want 100 USD", got.Total)
	}
}

func (c *contract) lineLimit(t *testing.T) {
	ctx := customer()
	var first string
	for i := range 50 {
		p := c.shop.NewProduct(t, 10, "EUR")
		if i == 0 {
			first = p
		}
		must(t)(c.api.AddItem(ctx, p, 1))
	}
	_, err := c.api.AddItem(ctx, c.shop.NewProduct(t, 10, "EUR"), 1)
	wantField(t, err, errs.KindConflict, "product_id")
	// A product already in the cart still takes more units.
	got := must(t)(c.api.AddItem(ctx, first, 1))
	if len(got.Items) != 50 || quantities(got)[first] != 2 || got.Total.Amount != 510 {
		t.Fatalf("%d lines, first %d, total %d; want 50, 2, 510", len(got.Items), quantities(got)[first], got.Total.Amount)
	}
}

func (c *contract) setQuantity(t *testing.T) {
	ctx := customer()
	p, q := c.shop.NewProduct(t, 200, "EUR"), c.shop.NewProduct(t, 50, "EUR")
	must(t)(c.api.AddItem(ctx, p, 1))
	must(t)(c.api.AddItem(ctx, q, 1))
	got := must(t)(c.api.SetQuantity(ctx, p, 7))
	if quantities(got)[p] != 7 || got.Total.Amount != 7*200+50 {
		t.Fatalf("after SetQuantity 7: %+v", got)
	}
	for _, n := range []int{-1, 100} {
		_, err := c.api.SetQuantity(ctx, p, n)
		wantField(t, err, errs.KindInvalid, "quantity")
	}
	for _, id := range []string{uuid.NewString(), "not-a-uuid", c.shop.NewProduct(t, 1, "EUR")} {
		_, err := c.api.SetQuantity(ctx, id, 1)
		errstest.Kind(t, err, errs.KindNotFound)
	}
	got = must(t)(c.api.SetQuantity(ctx, p, 0))
	if len(got.Items) != 1 || got.Items[0].ProductID != q {
		t.Fatalf("after SetQuantity 0: %+v, want only the other line", got)
	}
	_, err := c.api.SetQuantity(ctx, p, 0)
	errstest.Kind(t, err, errs.KindNotFound)
}

func (c *contract) removeAndClear(t *testing.T) {
	ctx := customer()
	p, q := c.shop.NewProduct(t, 200, "EUR"), c.shop.NewProduct(t, 50, "EUR")
	must(t)(c.api.AddItem(ctx, p, 1))
	must(t)(c.api.AddItem(ctx, q, 2))
	got := must(t)(c.api.RemoveItem(ctx, p))
	if len(got.Items) != 1 || got.Items[0].ProductID != q || got.Total.Amount != 100 {
		t.Fatalf("after RemoveItem: %+v", got)
	}
	for _, id := range []string{p, uuid.NewString(), "not-a-uuid"} {
		again := must(t)(c.api.RemoveItem(ctx, id))
		if len(again.Items) != 1 || !again.UpdatedAt.Equal(got.UpdatedAt) {
			t.Fatalf("removing a missing line %q changed the cart: %+v", id, again)
		}
	}
	if err := c.api.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if got := must(t)(c.api.Cart(ctx)); len(got.Items) != 0 || got.Total.Amount != 0 {
		t.Fatalf("after Clear: %+v", got)
	}
	if err := c.api.Clear(ctx); err != nil {
		t.Fatalf("clearing an empty cart: %v", err)
	}
}

// isolation: every method works on the caller's own cart; what user B
// does never shows in, or changes, user A's cart.
func (c *contract) isolation(t *testing.T) {
	a, aID := user(auth.RoleCustomer)
	b, bID := user(auth.RoleCustomer)
	p, q := c.shop.NewProduct(t, 700, "EUR"), c.shop.NewProduct(t, 100, "EUR")
	aCart := must(t)(c.api.AddItem(a, p, 3))

	bCart := must(t)(c.api.Cart(b))
	if bCart.UserID != bID || len(bCart.Items) != 0 {
		t.Fatalf("B sees %+v, want their own empty cart", bCart)
	}
	_, err := c.api.SetQuantity(b, p, 1)
	errstest.Kind(t, err, errs.KindNotFound)
	if got := must(t)(c.api.RemoveItem(b, p)); len(got.Items) != 0 {
		t.Fatalf("B's RemoveItem shows %+v", got)
	}
	if err := c.api.Clear(b); err != nil {
		t.Fatal(err)
	}
	bCart = must(t)(c.api.AddItem(b, q, 1))
	if len(bCart.Items) != 1 || bCart.Items[0].ProductID != q || bCart.Total.Amount != 100 {
		t.Fatalf("B's cart %+v, want only B's line", bCart)
	}

	got := must(t)(c.api.Cart(a))
	if got.UserID != aID || len(got.Items) != 1 || got.Items[0].ProductID != p || got.Items[0].Quantity != 3 ||
		!got.UpdatedAt.Equal(aCart.UpdatedAt) {
		t.Fatalf("A's cart %+v after B's calls, want it as A left it: %+v", got, aCart)
	}
}

// pricedNow: a read shows the catalog's price and the inventory's stock
// of now, not those of when the product was added.
func (c *contract) pricedNow(t *testing.T) {
	ctx, p := customer(), c.shop.NewProduct(t, 1000, "EUR")
	c.shop.SetStock(t, p, 5)
	must(t)(c.api.AddItem(ctx, p, 2))
	c.shop.SetPrice(t, p, 800)
	c.shop.SetStock(t, p, 1)
	got := must(t)(c.api.Cart(ctx))
	it := item(t, got, p)
	if it.UnitPrice.Amount != 800 || it.LineTotal.Amount != 1600 || got.Total.Amount != 1600 {
		t.Errorf("line %+v total %+v, want the new price 800", it, got.Total)
	}
	if it.Available != 1 || it.InStock || it.Stale || got.Stale {
		t.Errorf("line %+v, want 1 available, not in stock for 2, not stale", it)
	}
}

// hiddenProduct: a product that disappears from the catalog stays in the
// cart, marked unavailable and left out of the total.
func (c *contract) hiddenProduct(t *testing.T) {
	ctx := customer()
	p, q := c.shop.NewProduct(t, 1000, "EUR"), c.shop.NewProduct(t, 10, "EUR")
	c.shop.SetStock(t, p, 5)
	c.shop.SetStock(t, q, 5)
	must(t)(c.api.AddItem(ctx, p, 1))
	must(t)(c.api.AddItem(ctx, q, 1))
	c.shop.HideProduct(t, p)
	got := must(t)(c.api.Cart(ctx))
	it := item(t, got, p)
	if !it.Unavailable || it.InStock || it.Stale || got.Stale {
		t.Errorf("hidden line %+v (cart stale %v), want unavailable, not in stock, not stale", it, got.Stale)
	}
	if it.UnitPrice.Amount != 1000 || it.Name == "" {
		t.Errorf("hidden line %+v, want its last known name and price", it)
	}
	if got.Total.Amount != 10 {
		t.Errorf("total %+v, want only the available line's 10", got.Total)
	}
	_, err := c.api.AddItem(ctx, p, 1)
	wantField(t, err, errs.KindNotFound, "product_id")
}
