package ordersmodule_test

import (
	"testing"

	"github.com/shopmonolith/shop/modules/orders/ordersremote"
	"github.com/shopmonolith/shop/modules/orders/orderstest"
	"github.com/shopmonolith/shop/platform/remote/remotetest"
)

// TestRemoteContract runs the contract suite against the generated remote
// client, talking over loopback HTTP to the internal endpoints in front of
// the real module, called as notifications (which depends on orders).
func TestRemoteContract(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	api := ordersremote.NewClient(remotetest.Client(t, "notifications", ordersremote.Methods(s.orders.API())))
	orderstest.Contract(t, api, s.contractShop())
}
