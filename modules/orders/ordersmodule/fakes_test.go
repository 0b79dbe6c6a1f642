package ordersmodule_test

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// The neighbours as small in-memory fakes with the contracts' semantics
// (idempotent per id), so the orders module is tested alone.

type fakeInventory struct {
	inventory.API // methods the module does not call panic
	mu            sync.Mutex
	onHand        map[string]int
	reserved      map[string]int
	reservations  map[string]inventory.Reservation
	failReserve   error        // returned by Reserve while set
	gate          func(string) // when set, runs first in Reserve ("reserve"), as a remote call would (and may block)
}

var _ inventory.API = (*fakeInventory)(nil)

func newFakeInventory() *fakeInventory {
	return &fakeInventory{onHand: map[string]int{}, reserved: map[string]int{}, reservations: map[string]inventory.Reservation{}}
}

func service(ctx context.Context) error {
	_, err := auth.RequireRole(ctx, auth.RoleService)
	return err
}

func (f *fakeInventory) available(id string) int { return f.onHand[id] - f.reserved[id] }

func (f *fakeInventory) Reserve(ctx context.Context, r inventory.ReserveRequest) (inventory.Reservation, error) {
	if err := service(ctx); err != nil {
		return inventory.Reservation{}, err
	}
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		gate("reserve")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failReserve != nil {
		return inventory.Reservation{}, f.failReserve
	}
	if got, ok := f.reservations[r.ID]; ok {
		if got.Status == inventory.StatusReleased && got.Lines == nil {
			got.Status = inventory.StatusRejected
		}
		return got, nil
	}
	res := inventory.Reservation{ID: r.ID, Status: inventory.StatusHeld, Lines: r.Lines}
	for _, l := range r.Lines {
		if a := f.available(l.ProductID); a < l.Quantity {
			res.Status = inventory.StatusRejected
			res.Shortages = append(res.Shortages, inventory.Shortage{ProductID: l.ProductID, Requested: l.Quantity, Available: a})
		}
	}
	if res.Status == inventory.StatusHeld {
		for _, l := range r.Lines {
			f.reserved[l.ProductID] += l.Quantity
		}
	}
	f.reservations[r.ID] = res
	return res, nil
}

func (f *fakeInventory) Commit(ctx context.Context, id string) (inventory.Reservation, error) {
	return f.move(ctx, id, func(r *inventory.Reservation) error {
		switch r.Status {
		case inventory.StatusCommitted:
		case inventory.StatusHeld:
			for _, l := range r.Lines {
				f.reserved[l.ProductID] -= l.Quantity
				f.onHand[l.ProductID] -= l.Quantity
			}
			r.Status = inventory.StatusCommitted
		default:
			return errs.E(errs.KindConflict, "reservation is %s", r.Status)
		}
		return nil
	})
}

func (f *fakeInventory) Release(ctx context.Context, id string) (inventory.Reservation, error) {
	if err := service(ctx); err != nil {
		return inventory.Reservation{}, err
	}
	f.mu.Lock()
	if _, ok := f.reservations[id]; !ok {
		f.reservations[id] = inventory.Reservation{ID: id, Status: inventory.StatusReleased}
	}
	f.mu.Unlock()
	return f.move(ctx, id, func(r *inventory.Reservation) error {
		switch r.Status {
		case inventory.StatusHeld:
			for _, l := range r.Lines {
				f.reserved[l.ProductID] -= l.Quantity
			}
		case inventory.StatusCommitted:
			for _, l := range r.Lines {
				f.onHand[l.ProductID] += l.Quantity
			}
		default:
			return nil
		}
		r.Status = inventory.StatusReleased
		return nil
	})
}

func (f *fakeInventory) move(ctx context.Context, id string, fn func(*inventory.Reservation) error) (inventory.Reservation, error) {
	if err := service(ctx); err != nil {
		return inventory.Reservation{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.reservations[id]
	if !ok {
		return r, errs.E(errs.KindNotFound, "no reservation")
	}
	err := fn(&r)
	f.reservations[id] = r
	return r, err
}

func (f *fakeInventory) Availability(_ context.Context, ids []string) ([]inventory.StockLevel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]inventory.StockLevel, len(ids))
	for i, id := range ids {
		out[i] = inventory.StockLevel{ProductID: id, OnHand: f.onHand[id], Reserved: f.reserved[id], Available: f.available(id)}
	}
	return out, nil
}

type fakePayments struct {
	payments.API
	mu       sync.Mutex
	cards    map[string]string // token → number
	payments map[string]payments.Payment
	captures map[string]int
	refunds  map[string]int
	gate     func(string) // when set, runs first in Authorize ("authorize") and Capture ("capture"), as the card gateway would (and may block)
	refuse   error        // returned by Authorize while set, as payments refusing the request
}

var _ payments.API = (*fakePayments)(nil)

func newFakePayments() *fakePayments {
	return &fakePayments{cards: map[string]string{}, payments: map[string]payments.Payment{}, captures: map[string]int{}, refunds: map[string]int{}}
}

func (f *fakePayments) Tokenize(ctx context.Context, number string) (payments.Card, error) {
	if _, err := auth.RequireUser(ctx); err != nil {
		return payments.Card{}, err
	}
	number = strings.ReplaceAll(number, " ", "")
	if !luhn(number) {
		return payments.Card{}, errs.Invalid(errs.Field("card_number", "luhn", "is not a card number"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := "tok_" + uuid.NewString()
	f.cards[tok] = number
	return payments.Card{Token: tok, Last4: number[len(number)-4:]}, nil
}

func luhn(s string) bool {
	if len(s) < 12 || len(s) > 19 {
		return false
	}
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func (f *fakePayments) Authorize(ctx context.Context, r payments.AuthorizeRequest) (payments.Payment, error) {
	if err := service(ctx); err != nil {
		return payments.Payment{}, err
	}
	f.through("authorize")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return payments.Payment{}, f.refuse
	}
	if p, ok := f.payments[r.OrderID]; ok {
		return p, nil
	}
	p := payments.Payment{OrderID: r.OrderID, Amount: r.Amount, Status: payments.StatusAuthorized}
	switch f.cards[r.CardToken] {
	case "":
		return p, errs.Invalid(errs.Field("card_token", "known", "unknown token"))
	case payments.CardDecline:
		p.Status, p.Reason = payments.StatusDeclined, payments.ReasonCardDeclined
	case payments.CardFail:
		p.Status, p.Reason = payments.StatusFailed, payments.ReasonProcessingError
	case payments.CardTimeout:
		p.Status, p.Reason = payments.StatusFailed, payments.ReasonGatewayTimeout
	}
	f.payments[r.OrderID] = p
	return p, nil
}

// through runs the gate, if any, for op.
func (f *fakePayments) through(op string) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		gate(op)
	}
}

func (f *fakePayments) Capture(ctx context.Context, orderID string) (payments.Payment, error) {
	f.through("capture")
	return f.move(ctx, orderID, func(p *payments.Payment) error {
		switch p.Status {
		case payments.StatusCaptured:
		case payments.StatusAuthorized:
			p.Status = payments.StatusCaptured
			f.captures[orderID]++
		default:
			return errs.E(errs.KindConflict, "payment is %s", p.Status)
		}
		return nil
	})
}

func (f *fakePayments) Refund(ctx context.Context, orderID string) (payments.Payment, error) {
	return f.move(ctx, orderID, func(p *payments.Payment) error {
		switch p.Status {
		case payments.StatusAuthorized:
			p.Status = payments.StatusVoided
		case payments.StatusCaptured:
			p.Status = payments.StatusRefunded
			f.refunds[orderID]++
		}
		return nil
	})
}

func (f *fakePayments) move(ctx context.Context, orderID string, fn func(*payments.Payment) error) (payments.Payment, error) {
	if err := service(ctx); err != nil {
		return payments.Payment{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.payments[orderID]
	if !ok {
		return p, errs.E(errs.KindNotFound, "no payment")
	}
	err := fn(&p)
	f.payments[orderID] = p
	return p, err
}

type fakeCart struct {
	mu     sync.Mutex
	inv    *fakeInventory
	prices map[string]int64
	lines  map[string][]cart.Item // by user
	stale  bool
	gate   func() // when set, runs first in Cart, as a remote call would (and may block)
}

var _ cart.API = (*fakeCart)(nil)

func (f *fakeCart) user(ctx context.Context) (string, error) {
	p, err := auth.RequireUser(ctx)
	return p.UserID, err
}

func (f *fakeCart) Cart(ctx context.Context) (cart.Cart, error) {
	u, err := f.user(ctx)
	if err != nil {
		return cart.Cart{}, err
	}
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		gate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := cart.Cart{UserID: u, Items: slices.Clone(f.lines[u]), Stale: f.stale}
	for i := range c.Items {
		f.inv.mu.Lock()
		c.Items[i].InStock = f.inv.available(c.Items[i].ProductID) >= c.Items[i].Quantity
		f.inv.mu.Unlock()
	}
	return c, nil
}

func (f *fakeCart) AddItem(ctx context.Context, productID string, quantity int) (cart.Cart, error) {
	u, err := f.user(ctx)
	if err != nil {
		return cart.Cart{}, err
	}
	f.mu.Lock()
	price := cart.Money{Amount: f.prices[productID], Currency: "EUR"}
	f.lines[u] = append(f.lines[u], cart.Item{ProductID: productID, SKU: "SKU-" + productID[:8], Name: "Product " + productID[:8],
		Quantity: quantity, UnitPrice: price, LineTotal: cart.Money{Amount: price.Amount * int64(quantity), Currency: "EUR"}})
	f.mu.Unlock()
	return f.Cart(ctx)
}

func (f *fakeCart) SetQuantity(context.Context, string, int) (cart.Cart, error) {
	return cart.Cart{}, errs.E(errs.KindInternal, "not used")
}

func (f *fakeCart) RemoveItem(context.Context, string) (cart.Cart, error) {
	return cart.Cart{}, errs.E(errs.KindInternal, "not used")
}

func (f *fakeCart) Clear(ctx context.Context) error {
	u, err := f.user(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.lines, u)
	return nil
}
