package identitymodule_test

import (
	"testing"

	"github.com/shopmonolith/shop/modules/identity/identityremote"
	"github.com/shopmonolith/shop/modules/identity/identitytest"
	"github.com/shopmonolith/shop/platform/remote/remotetest"
)

// TestRemoteContract runs the contract suite against the generated remote
// client, talking over loopback HTTP to the internal endpoints in front of
// the real module, called as notifications (which depends on identity).
func TestRemoteContract(t *testing.T) {
	t.Parallel()
	mod := freshModule(t, nil, nil)
	api := identityremote.NewClient(remotetest.Client(t, "notifications", identityremote.Methods(mod.API())))
	identitytest.Contract(t, api)
}
