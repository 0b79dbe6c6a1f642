package reportingmodule_test

import (
	"testing"

	"github.com/shopmonolith/shop/modules/reporting/reportingremote"
	"github.com/shopmonolith/shop/modules/reporting/reportingtest"
	"github.com/shopmonolith/shop/platform/remote/remotetest"
)

// TestRemoteContract runs the contract suite against the generated remote
// client, talking over loopback HTTP to the internal endpoints in front of
// the real module. No module depends on reporting, so the test allows its own caller.
func TestRemoteContract(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	api := reportingremote.NewClient(remotetest.Client(t, "contracttest", reportingremote.Methods(s.rep.API())))
	reportingtest.Contract(t, api, s.publishContract)
}
