package paymentsmodule

import (
	"context"
	"time"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/internal/domain"
)

// api adapts the domain service to the public contract.
type api struct{ svc *domain.Service }

var _ payments.API = (*api)(nil)

func (a *api) Tokenize(ctx context.Context, cardNumber string) (payments.Card, error) {
	c, err := a.svc.Tokenize(ctx, cardNumber)
	if err != nil {
		return payments.Card{}, err
	}
	return payments.Card{Token: c.Token(), Brand: c.Brand(), Last4: c.Last4()}, nil
}

func (a *api) Authorize(ctx context.Context, r payments.AuthorizeRequest) (payments.Payment, error) {
	return toPaymentDTO(a.svc.Authorize(ctx, domain.AuthorizeInput{
		OrderID: r.OrderID, UserID: r.UserID, Amount: r.Amount.Amount, Currency: r.Amount.Currency, CardToken: r.CardToken,
	}))
}

func (a *api) Capture(ctx context.Context, orderID string) (payments.Payment, error) {
	return toPaymentDTO(a.svc.Capture(ctx, orderID))
}

func (a *api) Refund(ctx context.Context, orderID string) (payments.Payment, error) {
	return toPaymentDTO(a.svc.Refund(ctx, orderID))
}

func (a *api) Payment(ctx context.Context, orderID string) (payments.Payment, error) {
	return toPaymentDTO(a.svc.Payment(ctx, orderID))
}

// toPaymentDTO converts a service result; it takes the error along so that
// each method stays one line.
func toPaymentDTO(p domain.Payment, err error) (payments.Payment, error) {
	if err != nil {
		return payments.Payment{}, err
	}
	return payments.Payment{
		ID: p.ID(), OrderID: p.OrderID(), UserID: p.UserID(), Status: p.Status(), Amount: toMoney(p.Amount()),
		CardBrand: p.Brand(), CardLast4: p.Last4(), Reason: p.Reason(),
		AuthorizedAt: timePtr(p.AuthorizedAt()), CapturedAt: timePtr(p.CapturedAt()), RefundedAt: timePtr(p.RefundedAt()),
		CreatedAt: p.CreatedAt(), UpdatedAt: p.UpdatedAt(),
	}, nil
}

func toMoney(m domain.Money) payments.Money {
	return payments.Money{Amount: m.Amount(), Currency: m.Currency()}
}

// timePtr maps the domain's zero time ("not yet") to nil.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
