package paymentsmodule

import (
	"testing"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/payments/internal/domain"
	"github.com/shopmonolith/shop/modules/payments/internal/gateway/simulated"
)

// The contract states its constants itself, so that importing it links no
// domain; they must say what the domain and the simulated gateway do.
func TestContractConstantsAreTheDomains(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, contract, impl string }{
		{"StatusAuthorized", payments.StatusAuthorized, domain.StatusAuthorized},
		{"StatusDeclined", payments.StatusDeclined, domain.StatusDeclined},
		{"StatusFailed", payments.StatusFailed, domain.StatusFailed},
		{"StatusCaptured", payments.StatusCaptured, domain.StatusCaptured},
		{"StatusVoided", payments.StatusVoided, domain.StatusVoided},
		{"StatusRefunded", payments.StatusRefunded, domain.StatusRefunded},
		{"ReasonCardDeclined", payments.ReasonCardDeclined, domain.ReasonDeclined},
		{"ReasonProcessingError", payments.ReasonProcessingError, domain.ReasonProcessing},
		{"ReasonGatewayTimeout", payments.ReasonGatewayTimeout, domain.ReasonTimeout},
		{"CardDecline", payments.CardDecline, simulated.CardDecline},
		{"CardFail", payments.CardFail, simulated.CardFail},
		{"CardTimeout", payments.CardTimeout, simulated.CardTimeout},
	} {
		if c.contract != c.impl {
			t.Errorf("payments.%s = %q, the implementation's is %q", c.name, c.contract, c.impl)
		}
	}
}
