package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/topology"
)

// Every module in a process of its own behind an edge that hosts none, on
// one database, events over NATS: each process starts, is ready, serves its
// own routes, the edge serves them all, and every process stops cleanly on
// SIGTERM.
func TestSplitTopologyStartsReadyAndStopsCleanly(t *testing.T) {
	t.Parallel()
	split, err := topology.Named(topology.Split, binaryModules, true)
	if err != nil {
		t.Fatal(err)
	}
	s := &shop{t: t, dbURL: dbtest.NewURL(t), topo: split, partial: true}
	s.start()
	procs := s.cluster.Processes()
	if len(procs) != len(binaryModules)+1 {
		t.Fatalf("%d processes, want one per module (%d) and the edge", len(procs), len(binaryModules))
	}
	for _, p := range procs {
		on := &shop{t: t, base: p.URL(), partial: true}
		on.must(http.StatusOK, on.call("GET", "/readyz", "", nil))
		if !strings.Contains(s.logs.String(), p.Name()+" | ") {
			t.Errorf("no log line of %s", p.Name())
		}
	}
	catalog := &shop{t: t, base: s.cluster.Host("catalog").URL(), partial: true}
	catalog.must(http.StatusOK, catalog.call("GET", "/api/products", "", nil))
	identity := &shop{t: t, base: s.cluster.Host("identity").URL(), partial: true}
	identity.login(adminEmail, adminPassword)
	// The edge forwards both.
	s.must(http.StatusOK, s.call("GET", "/api/products", "", nil))
	s.login(adminEmail, adminPassword)

	if err := s.stop(); err != nil {
		t.Fatalf("the processes did not all exit cleanly on SIGTERM: %v", err)
	}
	for _, p := range procs {
		select {
		case <-p.Done():
		default:
			t.Errorf("%s still runs", p.Name())
		}
	}
}
