package ordersmodule

import (
	"context"
	"fmt"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/orders/internal/domain"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/events"
)

// api adapts the domain service to the public contract.
type api struct{ svc *domain.Service }

var _ orders.API = (*api)(nil)

func (a *api) Checkout(ctx context.Context, r orders.CheckoutRequest) (orders.Order, error) {
	o, replayed, err := a.svc.Checkout(ctx, r.IdempotencyKey, r.CardNumber)
	if err != nil {
		return orders.Order{}, err
	}
	out := toOrder(o)
	out.Replayed = replayed
	return out, nil
}

func (a *api) Order(ctx context.Context, id string) (orders.Order, error) {
	return one(a.svc.Order(ctx, id))
}

func (a *api) Orders(ctx context.Context, q orders.Query) (orders.Page, error) {
	p, err := a.svc.Orders(ctx, domain.Query{UserID: q.UserID, Status: q.Status, After: q.After, Limit: q.Limit})
	if err != nil {
		return orders.Page{}, err
	}
	out := orders.Page{Items: make([]orders.Order, len(p.Items)), NextCursor: p.NextCursor}
	for i, o := range p.Items {
		out.Items[i] = toOrder(o)
	}
	return out, nil
}

func (a *api) Cancel(ctx context.Context, id string) (orders.Order, error) {
	return one(a.svc.Cancel(ctx, id))
}

func (a *api) MarkShipped(ctx context.Context, id string) (orders.Order, error) {
	return one(a.svc.Ship(ctx, id))
}

func one(o *domain.Order, err error) (orders.Order, error) {
	if err != nil {
		return orders.Order{}, err
	}
	return toOrder(o), nil
}

func toOrder(o *domain.Order) orders.Order {
	out := orders.Order{
		ID: o.ID(), UserID: o.UserID(), Email: o.Email(), Status: o.Status(), Reason: o.Reason(),
		Items: toItems(o), Total: orders.Money{Amount: o.Total(), Currency: o.Currency()}, CardLast4: o.CardLast4(),
		PaymentCaptured: o.PaymentIsCaptured(), Timeline: make([]orders.Step, len(o.Timeline())),
		CreatedAt: o.CreatedAt(), UpdatedAt: o.UpdatedAt(),
	}
	for i, s := range o.Timeline() {
		out.Timeline[i] = orders.Step{Step: s.Step, Detail: s.Detail, At: s.At}
	}
	return out
}

func toItems(o *domain.Order) []orders.Item {
	items := make([]orders.Item, len(o.Items()))
	for i, it := range o.Items() {
		items[i] = orders.Item{
			ProductID: it.ProductID, SKU: it.SKU, Name: it.Name, Quantity: it.Quantity,
			UnitPrice: orders.Money{Amount: it.UnitPrice, Currency: o.Currency()},
			LineTotal: orders.Money{Amount: it.LineTotal(), Currency: o.Currency()},
		}
	}
	return items
}

// toEvent turns a fact into the public event of its kind.
func toEvent(f domain.Fact) (events.Event, error) {
	o, at := f.Order, f.At
	total := orders.Money{Amount: o.Total(), Currency: o.Currency()}
	switch f.Kind {
	case domain.FactPlaced:
		return orders.OrderPlaced{OrderID: o.ID(), UserID: o.UserID(), Email: o.Email(), Items: toItems(o), Total: total, PlacedAt: at}, nil
	case domain.FactStockReserved:
		return orders.OrderStockReserved{OrderID: o.ID(), ReservedAt: at}, nil
	case domain.FactConfirmed:
		return orders.OrderConfirmed{OrderID: o.ID(), UserID: o.UserID(), Email: o.Email(), Items: toItems(o), Total: total, ConfirmedAt: o.ConfirmedAt()}, nil
	case domain.FactRejected:
		return orders.OrderRejected{OrderID: o.ID(), UserID: o.UserID(), Email: o.Email(), Reason: o.Reason(), RejectedAt: at}, nil
	case domain.FactFailed:
		return orders.OrderFailed{OrderID: o.ID(), UserID: o.UserID(), Email: o.Email(), Reason: o.Reason(), FailedAt: at}, nil
	case domain.FactCancelled:
		return orders.OrderCancelled{OrderID: o.ID(), UserID: o.UserID(), Email: o.Email(), Items: toItems(o), Total: total,
			WasConfirmed: !o.ConfirmedAt().IsZero(), ConfirmedAt: o.ConfirmedAt(), CancelledAt: at}, nil
	case domain.FactShipped:
		return orders.OrderShipped{OrderID: o.ID(), UserID: o.UserID(), Email: o.Email(), ShippedAt: at}, nil
	}
	return nil, fmt.Errorf("orders: no event for fact %q", f.Kind)
}

// cartPort is the cart as checkout needs it.
type cartPort struct{ api cart.API }

func (p cartPort) Snapshot(ctx context.Context) (domain.CartSnapshot, error) {
	c, err := p.api.Cart(ctx)
	if err != nil {
		return domain.CartSnapshot{}, err
	}
	snap := domain.CartSnapshot{Stale: c.Stale, Lines: make([]domain.CartLine, len(c.Items))}
	for i, it := range c.Items {
		snap.Lines[i] = domain.CartLine{
			ProductID: it.ProductID, SKU: it.SKU, Name: it.Name, Quantity: it.Quantity,
			UnitPrice: it.UnitPrice.Amount, Currency: it.UnitPrice.Currency, InStock: it.InStock, Unavailable: it.Unavailable,
		}
	}
	return snap, nil
}

func (p cartPort) Clear(ctx context.Context) error { return p.api.Clear(ctx) }

// stockPort is inventory as the saga needs it.
type stockPort struct{ api inventory.API }

func (p stockPort) Reserve(ctx context.Context, id string, lines []domain.StockLine) (domain.Reservation, error) {
	req := inventory.ReserveRequest{ID: id, Lines: make([]inventory.Line, len(lines))}
	for i, l := range lines {
		req.Lines[i] = inventory.Line{ProductID: l.ProductID, Quantity: l.Quantity}
	}
	r, err := p.api.Reserve(ctx, req)
	if err != nil {
		return domain.Reservation{}, err
	}
	out := domain.Reservation{Held: r.Status == inventory.StatusHeld || r.Status == inventory.StatusCommitted}
	for _, s := range r.Shortages {
		out.Shortages = append(out.Shortages, domain.Shortage{ProductID: s.ProductID, Requested: s.Requested, Available: s.Available})
	}
	return out, nil
}

func (p stockPort) Commit(ctx context.Context, id string) error {
	_, err := p.api.Commit(ctx, id)
	return err
}

func (p stockPort) Release(ctx context.Context, id string) error {
	_, err := p.api.Release(ctx, id)
	return err
}

// paymentsPort is payments as checkout and the saga need them.
type paymentsPort struct{ api payments.API }

func (p paymentsPort) Tokenize(ctx context.Context, number string) (domain.Card, error) {
	c, err := p.api.Tokenize(ctx, number)
	return domain.Card{Token: c.Token, Last4: c.Last4}, err
}

func (p paymentsPort) Authorize(ctx context.Context, orderID, userID string, amount int64, currency, token string) (domain.Authorization, error) {
	pay, err := p.api.Authorize(ctx, payments.AuthorizeRequest{
		OrderID: orderID, UserID: userID, Amount: payments.Money{Amount: amount, Currency: currency}, CardToken: token,
	})
	if err != nil {
		return domain.Authorization{}, err
	}
	switch pay.Status {
	case payments.StatusDeclined, payments.StatusFailed:
		return domain.Authorization{Reason: pay.Reason}, nil
	}
	return domain.Authorization{Approved: true}, nil
}

func (p paymentsPort) Capture(ctx context.Context, orderID string) error {
	_, err := p.api.Capture(ctx, orderID)
	return err
}

func (p paymentsPort) Refund(ctx context.Context, orderID string) (string, error) {
	pay, err := p.api.Refund(ctx, orderID)
	switch {
	case errs.Is(err, errs.KindNotFound):
		return "", nil // never authorized: nothing to give back
	case err != nil:
		return "", err
	case pay.Status == payments.StatusVoided || pay.Status == payments.StatusRefunded:
		return pay.Status, nil
	}
	return "", nil
}
