package paymentsmodule

import (
	"fmt"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/internal/domain"
	"github.com/shopmonolith/shop/platform/events"
)

// toEvent maps each fact to its event; a fact without one is a programming
// error, reported rather than dropped so that the change rolls back.
func toEvent(fact any) (events.Event, error) {
	switch f := fact.(type) {
	case domain.Authorized:
		p := f.Payment
		return payments.PaymentAuthorized{PaymentID: p.ID(), OrderID: p.OrderID(), Amount: toMoney(p.Amount()), At: p.AuthorizedAt()}, nil
	case domain.Rejected:
		p := f.Payment
		return payments.PaymentRejected{PaymentID: p.ID(), OrderID: p.OrderID(), Status: p.Status(), Reason: p.Reason(), At: p.CreatedAt()}, nil
	case domain.Captured:
		p := f.Payment
		return payments.PaymentCaptured{PaymentID: p.ID(), OrderID: p.OrderID(), Amount: toMoney(p.Amount()), At: p.CapturedAt()}, nil
	case domain.Refunded:
		p := f.Payment
		return payments.PaymentRefunded{PaymentID: p.ID(), OrderID: p.OrderID(), Status: p.Status(), Amount: toMoney(p.Amount()), At: p.RefundedAt()}, nil
	}
	return nil, fmt.Errorf("payments: no event for fact %T", fact)
}
