package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events/eventstest"
	"github.com/shopmonolith/shop/platform/ops"
	"github.com/shopmonolith/shop/platform/topology"
)

// opsReport fetches the ops page's report as the admin.
func (s *shop) opsReport(admin string) ops.Report {
	s.t.Helper()
	var rep ops.Report
	s.must(http.StatusOK, s.call("GET", "/api/admin/ops", admin, nil)).json(s.t, &rep)
	return rep
}

func moduleOf(t *testing.T, rep ops.Report, name string) ops.ModuleStatus {
	t.Helper()
	i := slices.IndexFunc(rep.Modules, func(m ops.ModuleStatus) bool { return m.Name == name })
	if i < 0 {
		t.Fatalf("the ops report has no module %s: %+v", name, rep.Modules)
	}
	return rep.Modules[i]
}

func subscriberOf(m ops.ModuleStatus, id string) (pending, dead int64) {
	if m.Events == nil {
		return -1, -1
	}
	for _, s := range m.Events.Subscribers {
		if s.Subscriber == id {
			return s.Pending, s.Dead
		}
	}
	return 0, 0
}

// The ops page of one process: every module local and healthy in this
// process, which lists itself among the replicas; the graph of the
// modules; a module's p99 once its routes served; and an inbox's pending
// events and dead letters as they come. Only an admin may see it.
func TestOpsPageOfTheMonolith(t *testing.T) {
	t.Parallel()
	dbtest.Reserve(t, topologyConns(monolith)+1)
	s := &shop{t: t, dbURL: dbtest.NewURL(t), topo: monolith, reserved: true}
	s.start("SHOP_EVENTS_POLL_INTERVAL=100ms", "SHOP_EVENTS_MAX_ATTEMPTS=1")

	assertProblem(t, s.call("GET", "/api/admin/ops", "", nil), http.StatusUnauthorized)
	assertProblem(t, s.call("GET", "/api/admin/ops", s.register("ops@example.com"), nil), http.StatusForbidden)
	admin := s.login(adminEmail, adminPassword)
	s.must(http.StatusOK, s.call("GET", "/api/products", "", nil))

	rep := s.opsReport(admin)
	if len(rep.Modules) != len(binaryModules) {
		t.Fatalf("%d modules reported, want %d", len(rep.Modules), len(binaryModules))
	}
	for _, m := range rep.Modules {
		if m.Where != ops.Local || m.Process != rep.Process.Instance || m.Health.Status != "ok" || m.Health.Checks["module:"+m.Name] != "ok" {
			t.Errorf("module %s: %s at %s (process %s), health %+v; want local in %s and ok", m.Name, m.Where, m.Address, m.Process, m.Health, rep.Process.Instance)
		}
	}
	if p99 := moduleOf(t, rep, "catalog").P99; p99 == nil || p99.Count == 0 || p99.Seconds <= 0 {
		t.Errorf("catalog's p99 after serving its products: %+v", p99)
	}
	if !slices.ContainsFunc(rep.Graph.Edges, func(e ops.Edge) bool { return e.From == "cart" && e.To == "catalog" }) ||
		!strings.Contains(rep.Graph.Mermaid, "cart --> catalog") {
		t.Errorf("the graph lacks cart -> catalog: %+v", rep.Graph)
	}
	if len(rep.Replicas) != 1 || rep.Replicas[0].Instance != rep.Process.Instance || len(rep.Replicas[0].Modules) != len(binaryModules) ||
		rep.Process.Version == "" || rep.Process.Hostname == "" {
		t.Errorf("replicas %+v, want this process %+v alone, hosting every module", rep.Replicas, rep.Process)
	}

	// One delivery waiting for a later attempt, one its handler rejects
	// (no email): pending and dead letters of notifications.welcome_email.
	const welcome = "notifications.welcome_email"
	queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
		_, err := conn.Exec(context.Background(), `INSERT INTO notifications.event_inbox
			(subscriber, event_id, publisher, source_seq, type, key, payload, occurred_at, next_attempt_at)
			VALUES ($1, gen_random_uuid(), 'identity', 999998, 'identity.user_registered.v1', 'later', '{}', now(), now() + interval '1 hour'),
			       ($1, gen_random_uuid(), 'identity', 999999, 'identity.user_registered.v1', gen_random_uuid()::text,
			        jsonb_build_object('user_id', gen_random_uuid()::text, 'name', 'Dee'), now(), now())`, welcome)
		if err == nil {
			_, err = conn.Exec(context.Background(), `SELECT pg_notify('shop_events', 'inbox:notifications')`)
		}
		return err
	})
	eventstest.Eventually(t, 20*time.Second, "a pending event and a dead letter on the ops page", func() bool {
		pending, dead := subscriberOf(moduleOf(t, s.opsReport(admin), "notifications"), welcome)
		return pending == 1 && dead == 1
	})
}

// The ops page of the front process when catalog runs in a process of its
// own: catalog is remote at its process's internal URL, healthy, with the
// p99 its own process measured and that process among the replicas; the
// others are local. When catalog's process hangs, the page still answers,
// promptly, with catalog unreachable.
func TestOpsPageOfACatalogInItsOwnProcess(t *testing.T) {
	t.Parallel()
	tp, err := topology.Named(topology.Catalog, binaryModules, true)
	if err != nil {
		t.Fatal(err)
	}
	reserveShops(t, topologyConns(tp))
	s := &shop{t: t, dbURL: dbtest.NewURL(t), topo: tp}
	s.start()
	admin := s.login(adminEmail, adminPassword)
	s.must(http.StatusOK, s.call("GET", "/api/products", "", nil))

	rep := s.opsReport(admin)
	cat := moduleOf(t, rep, "catalog")
	if cat.Where != ops.Remote || cat.Address != s.cluster.Process("catalog").Internal() || cat.Health.Status != "ok" ||
		cat.Process == "" || cat.Process == rep.Process.Instance {
		t.Fatalf("catalog: %s at %s (process %s), health %+v; want remote at %s, ok, in another process than %s",
			cat.Where, cat.Address, cat.Process, cat.Health, s.cluster.Process("catalog").Internal(), rep.Process.Instance)
	}
	if cat.P99 == nil || cat.P99.Count == 0 {
		t.Errorf("catalog's p99 from its process: %+v", cat.P99)
	}
	if cat.Events == nil {
		t.Errorf("catalog's event backlog missing: %+v", cat)
	}
	if i := slices.IndexFunc(rep.Replicas, func(p ops.Process) bool { return p.Instance == cat.Process }); i < 0 || !slices.Equal(rep.Replicas[i].Modules, []string{"catalog"}) {
		t.Errorf("replicas %+v lack catalog's process %s", rep.Replicas, cat.Process)
	}
	if len(rep.Replicas) != 2 {
		t.Errorf("%d replicas, want the two processes: %+v", len(rep.Replicas), rep.Replicas)
	}
	if m := moduleOf(t, rep, "orders"); m.Where != ops.Local || m.Health.Status != "ok" {
		t.Errorf("orders: %+v, want local and ok", m)
	}

	// Catalog's process stops answering (SIGSTOP): its connections are
	// accepted by the kernel and never answered.
	pid := s.cluster.Process("catalog").PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	began := time.Now()
	rep = s.opsReport(admin)
	took := time.Since(began)
	if cat := moduleOf(t, rep, "catalog"); cat.Health.Status != ops.Unreachable || cat.Where != ops.Remote {
		t.Errorf("catalog of a hung process: %+v, want unreachable", cat)
	}
	if m := moduleOf(t, rep, "orders"); m.Health.Status != "ok" {
		t.Errorf("orders beside a hung catalog: %+v, want ok", m)
	}
	if took > 5*time.Second {
		t.Errorf("the ops page took %s with a hung neighbour; its status call waits %s", took, ops.Timeout)
	}
	t.Logf("ops page with a hung catalog answered in %s", took.Round(time.Millisecond))
}
