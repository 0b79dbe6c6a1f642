package inventorymodule_test

import (
	"testing"

	"github.com/shopmonolith/shop/modules/inventory/inventoryremote"
	"github.com/shopmonolith/shop/modules/inventory/inventorytest"
	"github.com/shopmonolith/shop/platform/remote/remotetest"
)

// TestRemoteContract runs the contract suite against the generated remote
// client, talking over loopback HTTP to the internal endpoints in front of
// the real module, called as orders (which depends on the inventory and acts as itself in the suite).
func TestRemoteContract(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	api := inventoryremote.NewClient(remotetest.Client(t, "orders", inventoryremote.Methods(s.api)))
	inventorytest.Contract(t, api)
}
