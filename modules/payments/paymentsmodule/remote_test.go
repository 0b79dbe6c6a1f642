package paymentsmodule_test

import (
	"time"

	"testing"

	"github.com/shopmonolith/shop/modules/payments/paymentsremote"
	"github.com/shopmonolith/shop/modules/payments/paymentstest"
	"github.com/shopmonolith/shop/platform/remote/remotetest"
)

// TestRemoteContract runs the contract suite against the generated remote
// client, talking over loopback HTTP to the internal endpoints in front of
// the real module, called as orders (which depends on payments and acts as itself in the suite).
func TestRemoteContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 500*time.Millisecond, nil)
	api := paymentsremote.NewClient(remotetest.Client(t, "orders", paymentsremote.Methods(e.api)))
	paymentstest.Contract(t, api)
}
