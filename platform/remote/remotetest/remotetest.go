// Package remotetest runs a module's API behind real internal endpoints, so
// that its contract suite can run against the generated remote client:
//
//	api := catalogremote.NewClient(remotetest.Client(t, "cart", catalogremote.Methods(local)))
//	catalogtest.Contract(t, api)
//
// Every call then crosses loopback HTTP, with signed call tokens and, for a
// user principal in the context, identity's signed assertion (the client's
// process holds identity's development key, as a process that authenticated
// the session does).
package remotetest

import (
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopmonolith/shop/platform/remote"
)

// secret derives the test topology's keys.
const secret = "remotetest development secret"

// Client starts a server on loopback hosting svc, which accepts calls from
// caller only, and returns a client calling it as caller.
func Client(t testing.TB, caller string, svc remote.Service) *remote.Client {
	t.Helper()
	srv := remote.NewServer(remote.ServerConfig{
		Keys:    remote.DevKeys(secret, svc.Module),
		Callers: remote.AllowedCallers(map[string][]string{caller: {svc.Module}}),
	}, svc)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	c, err := remote.NewClient(remote.ClientConfig{
		Caller:     caller,
		Endpoints:  map[string]string{svc.Module: ts.URL},
		Keys:       remote.DevKeys(secret, caller, remote.IdentityModule),
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
