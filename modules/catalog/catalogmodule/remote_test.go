package catalogmodule_test

import (
	"testing"

	"github.com/shopmonolith/shop/modules/catalog/catalogremote"
	"github.com/shopmonolith/shop/modules/catalog/catalogtest"
	"github.com/shopmonolith/shop/platform/remote/remotetest"
)

// TestRemoteContract runs the contract suite against the generated remote
// client, talking over loopback HTTP to the internal endpoints in front of
// the real module, called as the cart (which depends on the catalog).
func TestRemoteContract(t *testing.T) {
	t.Parallel()
	mod := newModule(t)
	api := catalogremote.NewClient(remotetest.Client(t, "cart", catalogremote.Methods(mod.API())))
	catalogtest.Contract(t, api)
}
