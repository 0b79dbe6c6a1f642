package notificationsmodule_test

import (
	"testing"

	"github.com/shopmonolith/shop/modules/notifications/notificationsremote"
	"github.com/shopmonolith/shop/modules/notifications/notificationstest"
	"github.com/shopmonolith/shop/platform/remote/remotetest"
)

// TestRemoteContract runs the contract suite against the generated remote
// client, talking over loopback HTTP to the internal endpoints in front of
// the real module. No module depends on notifications, so the test allows its own caller.
func TestRemoteContract(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	api := notificationsremote.NewClient(remotetest.Client(t, "contracttest", notificationsremote.Methods(s.notes.API())))
	notificationstest.Contract(t, api, s.signUp, nil)
}
