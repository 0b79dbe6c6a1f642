package catalogmodule

import (
	"testing"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
)

// The contract states its constants itself, so that importing it links no
// domain; they must say what the domain enforces.
func TestContractConstantsAreTheDomains(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, contract, domain any }{
		{"DealPercent", catalog.DealPercent, domain.DealPercent},
		{"DealFixed", catalog.DealFixed, domain.DealFixed},
		{"MaxProductIDs", catalog.MaxProductIDs, domain.MaxBatch},
	} {
		if c.contract != c.domain {
			t.Errorf("catalog.%s = %v, the domain's is %v", c.name, c.contract, c.domain)
		}
	}
}
