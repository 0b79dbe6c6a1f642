package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/topology"
)

// movesCatalog reports whether the shop runs on the moved layout: the
// end-to-end run on the catalog topology (SHOP_E2E_TOPOLOGY=catalog) moves
// catalog's schema to a database of its own in every shop it starts, so
// that the suite proves the shop works after shop db move.
func (s *shop) movesCatalog() bool {
	return e2eTopology.Name == topology.Catalog && s.topology().Name == topology.Catalog
}

// moveCatalog does what an operator does to give catalog a database of
// its own while the rest of the shop keeps serving: it stops catalog's
// process, runs the binary's shop db move to a fresh empty database, and
// starts the process again on the printed SHOP_DB_CATALOG_URL alone (no
// DATABASE_URL: the move fenced the old schema off catalog's role). Every
// later start of the process, after a kill say, keeps the setting.
func (s *shop) moveCatalog(ctx context.Context) {
	t := s.t
	t.Helper()
	begin := time.Now()
	p := s.cluster.Host("catalog")
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop() }()
	target := dbtest.NewEmptyURL(t) // while the process stops
	if err := <-stopped; err != nil {
		t.Fatalf("catalog's process before the move: %v", err)
	}
	// The move runs on the stopped process's connections.
	budget := groupConns(topology.Group{Name: p.Name(), Modules: p.Modules()})
	if moveConns > budget {
		t.Fatalf("shop db move holds %d connections, more than the %d of catalog's process", moveConns, budget)
	}
	cmd := exec.CommandContext(ctx, binary, "db", "move", "catalog", "--to", target)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DATABASE_URL=" + s.dbURL,
		"SHOP_MODULES=catalog", "SHOP_LOG_LEVEL=warn", fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", budget)}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("shop db move catalog: %v\n%s", err, out)
	}
	s.catalogLogin = movedSetting(t, "catalog", string(out))
	if err := s.cluster.Restart(ctx, nil, p); err != nil {
		t.Fatalf("catalog's process on its own database: %v", err)
	}
	t.Logf("catalog moved to a database of its own, its process stopped and ready again in %s", time.Since(begin).Round(time.Millisecond))
}

// ownLogins are the settings of group g's processes once catalog moved:
// catalog's process logs in with its own URL alone.
func (s *shop) ownLogins(g topology.Group) []string {
	if s.catalogLogin == "" || !slices.Contains(g.Modules, "catalog") {
		return nil
	}
	return []string{"DATABASE_URL=", moduleSetting("catalog", s.catalogLogin)}
}
