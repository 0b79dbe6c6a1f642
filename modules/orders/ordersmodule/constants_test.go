package ordersmodule

import (
	"testing"

	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/orders/internal/domain"
)

// The contract states its constants itself, so that importing it links no
// domain; they must say what the domain records.
func TestContractConstantsAreTheDomains(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, contract, domain string }{
		{"StatusPlaced", orders.StatusPlaced, domain.StatusPlaced},
		{"StatusStockReserved", orders.StatusStockReserved, domain.StatusStockReserved},
		{"StatusConfirmed", orders.StatusConfirmed, domain.StatusConfirmed},
		{"StatusShipped", orders.StatusShipped, domain.StatusShipped},
		{"StatusRejected", orders.StatusRejected, domain.StatusRejected},
		{"StatusFailed", orders.StatusFailed, domain.StatusFailed},
		{"StatusCancelled", orders.StatusCancelled, domain.StatusCancelled},
		{"StepPlaced", orders.StepPlaced, domain.StepPlaced},
		{"StepStockReserved", orders.StepStockReserved, domain.StepStockReserved},
		{"StepStockRejected", orders.StepStockRejected, domain.StepStockRejected},
		{"StepPaymentAuthorized", orders.StepPaymentAuthorized, domain.StepPaymentAuthorized},
		{"StepPaymentRejected", orders.StepPaymentRejected, domain.StepPaymentRejected},
		{"StepConfirmed", orders.StepConfirmed, domain.StepConfirmed},
		{"StepStockCommitted", orders.StepStockCommitted, domain.StepStockCommitted},
		{"StepPaymentCaptured", orders.StepPaymentCaptured, domain.StepPaymentCaptured},
		{"StepShipped", orders.StepShipped, domain.StepShipped},
		{"StepCancelled", orders.StepCancelled, domain.StepCancelled},
		{"StepStockReleased", orders.StepStockReleased, domain.StepStockReleased},
		{"StepPaymentRefunded", orders.StepPaymentRefunded, domain.StepPaymentRefunded},
		{"StepFailed", orders.StepFailed, domain.StepFailed},
		{"StepRejected", orders.StepRejected, domain.StepRejected},
	} {
		if c.contract != c.domain {
			t.Errorf("orders.%s = %q, the domain's is %q", c.name, c.contract, c.domain)
		}
	}
}
