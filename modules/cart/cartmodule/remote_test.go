package cartmodule_test

import (
	"testing"

	"github.com/shopmonolith/shop/modules/cart/cartremote"
	"github.com/shopmonolith/shop/modules/cart/carttest"
	"github.com/shopmonolith/shop/platform/remote/remotetest"
)

// TestRemoteContract runs the contract suite against the generated remote
// client, talking over loopback HTTP to the internal endpoints in front of
// the real module, called as orders (which depends on the cart).
func TestRemoteContract(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	api := cartremote.NewClient(remotetest.Client(t, "orders", cartremote.Methods(s.cart.API())))
	carttest.Contract(t, api, s.fixtures())
}
