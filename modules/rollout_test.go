//go:build rollout

package modules_test

// Rolling restarts behind HAProxy (make test-rollout): replicas replaced
// one at a time under a steady load lose no request and double no
// checkout. The balancer retries nothing, so what keeps a request from
// reaching a closed listener is the shop's own drain (SHOP_HTTP_DRAIN_DELAY,
// left at its default) against the balancer's health checks of /readyz.

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/natstest"
	"github.com/shopmonolith/shop/platform/testreport"
	"github.com/shopmonolith/shop/platform/topology"
)

// Each process runs one event worker per subscriber, and gives each module
// it hosts three connections: one for the worker, two for requests (with
// the least serve accepts, two, a module busy with requests fails its
// readiness check and is taken out of the balancer).
const (
	rolloutWorkers     = 1
	rolloutModuleConns = 3
)

// processConns is the budget of a process hosting modules modules; an
// edge hosts none, and gets the least the configuration accepts.
func processConns(modules int) int {
	if modules == 0 {
		return database.OwnerConns + database.ListenConns + database.MinModuleConns
	}
	return database.OwnerConns + database.ListenConns + rolloutModuleConns*modules
}

// Three monolith replicas on one database behind HAProxy, replaced one at
// a time while customers browse, fill carts and check out through it.
func TestRolloutMonolith(t *testing.T) {
	t.Parallel()
	const replicas = 3
	r := newRollout(t, "monolith")
	tp := r.topology(topology.Monolith)
	conns := processConns(len(tp.Groups[0].Modules))
	dbtest.Reserve(t, int32(replicas*conns))
	r.seed(conns)

	listen := map[string]topology.Listeners{}
	var servers []lbServer
	for i, port := range freePortRuns(t, replicas) {
		name := fmt.Sprintf("shop-%d", i+1)
		l := topology.Listeners{Public: loopback(port), Ops: loopback(port + 2)}
		listen[name] = l
		servers = append(servers, lbServer{name: name, addr: l.Public, check: l.Ops})
	}
	r.balance(lbFrontend{name: "public", servers: servers})
	c := r.start(tp, topology.Options{Replicas: map[string]int{"shop": replicas}, Listen: listen,
		Env: []string{"SHOP_DB_MAX_CONNS=" + strconv.Itoa(conns)}})
	r.roll(c, "public", c.Processes())
}

// Every module in a process of its own behind an edge, catalog in two
// replicas behind HAProxy, where the other processes (and the edge, for
// catalog's public routes) reach it; the catalog replicas are replaced one
// at a time while customers shop through the edge, itself behind HAProxy.
func TestRolloutSplitModule(t *testing.T) {
	t.Parallel()
	r := newRollout(t, "split")
	tp := r.topology(topology.Split)
	conns := 0
	for _, g := range tp.Groups {
		conns += processConns(len(g.Modules))
	}
	conns += processConns(1) // catalog's second replica
	dbtest.Reserve(t, int32(conns))
	r.seed(processConns(len(tp.Groups) - 1))

	ports := freePortRuns(t, 3)
	listen := map[string]topology.Listeners{"edge": {Public: loopback(ports[0]), Ops: loopback(ports[0] + 2)}}
	catalog := lbFrontend{name: "catalog"}
	for i, port := range ports[1:] {
		name := fmt.Sprintf("catalog-%d", i+1)
		l := topology.Listeners{Public: loopback(port), Internal: loopback(port + 1), Ops: loopback(port + 2)}
		listen[name] = l
		catalog.servers = append(catalog.servers, lbServer{name: name, addr: l.Internal, check: l.Ops})
	}
	lb := r.balance(lbFrontend{name: "public", servers: []lbServer{{name: "edge", addr: listen["edge"].Public, check: listen["edge"].Ops}}}, catalog)
	c := r.start(tp, topology.Options{NATSURL: natstest.Start(t).URL(), Replicas: map[string]int{"catalog": 2},
		ModuleURLs: map[string]string{"catalog": lb.url("catalog")}, Listen: listen,
		ProcessEnv: func(g topology.Group) []string {
			return []string{"SHOP_DB_MAX_CONNS=" + strconv.Itoa(processConns(len(g.Modules)))}
		}})
	r.roll(c, "catalog", []*topology.Process{c.Process("catalog-1"), c.Process("catalog-2")})
}

// rollout is one rolling restart test: the binary, its database, HAProxy
// and the processes behind it.
type rollout struct {
	t     *testing.T
	name  string
	bin   string
	dbURL string
	dir   string
	logs  *os.File // every process's lines
	lb    *balancer
}

func newRollout(t *testing.T, name string) *rollout {
	t.Helper()
	r := &rollout{t: t, name: name, bin: buildShop(t), dir: t.TempDir()}
	var err error
	if r.logs, err = os.Create(filepath.Join(r.dir, "shop.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the processes' warnings and errors:\n%s\nthe processes' last lines:\n%s", warnings(r.logs.Name(), 100), tail(r.logs.Name(), 10000))
		}
		r.logs.Close()
	})
	return r
}

// topology is the named topology of the binary's modules (split with its
// edge).
func (r *rollout) topology(name string) topology.Topology {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	modules, err := topology.ModulesOf(ctx, r.bin)
	if err != nil {
		r.t.Fatal(err)
	}
	tp, err := topology.Named(name, modules, true)
	if err != nil {
		r.t.Fatal(err)
	}
	return tp
}

// seed creates the database and loads the demo catalog (40 products,
// stock for each) in one process hosting every module, as an operator
// would before starting the shop; it may hold conns connections.
func (r *rollout) seed(conns int) {
	r.t.Helper()
	r.dbURL = dbtest.NewURL(r.t)
	cmd := exec.Command(r.bin, "seed", "--products", "40")
	cmd.Env = append(r.env(), "DATABASE_URL="+r.dbURL, "SHOP_DB_MAX_CONNS="+strconv.Itoa(conns))
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("shop seed: %v\n%s", err, out)
	}
}

// env is every process's environment. SHOP_HTTP_DRAIN_DELAY is left at
// its default: the default is what is tested.
func (r *rollout) env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"SHOP_EVENTS_WORKERS=" + strconv.Itoa(rolloutWorkers)}
}

// balance starts HAProxy with these frontends.
func (r *rollout) balance(frontends ...lbFrontend) *balancer {
	r.t.Helper()
	r.lb = startBalancer(r.t, haproxyPath(r.t), r.dir, frontends)
	return r.lb
}

// start starts the topology on the seeded database, and waits until
// HAProxy sends to every process behind it.
func (r *rollout) start(tp topology.Topology, o topology.Options) *topology.Cluster {
	r.t.Helper()
	o.Binary, o.DatabaseURL, o.Output = r.bin, r.dbURL, r.logs
	o.Env = append(r.env(), o.Env...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := topology.Start(ctx, tp, o)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			r.t.Errorf("stop: %v", err)
		}
	})
	for _, f := range r.lb.frontends {
		for _, s := range f.servers {
			if err := r.lb.await(f.name, s.name, "UP"); err != nil {
				r.t.Fatal(err)
			}
		}
	}
	return c
}

// roll replaces procs, the servers of backend, one at a time while
// customers shop through HAProxy: SIGTERM, wait for the exit, start it
// again on the same listeners, wait until it is ready and HAProxy sends to
// it. No request may fail, and every checkout must be confirmed once.
func (r *rollout) roll(c *topology.Cluster, backend string, procs []*topology.Process) {
	t := r.t
	t.Helper()
	lb := &client{t: t, base: r.lb.url("public"), http: &http.Client{Timeout: 20 * time.Second}}
	products := lb.products()
	customers := make([]*customer, 4)
	for i := range customers {
		customers[i] = lb.register(fmt.Sprintf("roll%d@example.com", i))
	}
	traffic := startTraffic(lb, customers, products, 2, false)
	t.Cleanup(func() { traffic.stop() })
	if !traffic.awaitConfirmed(trafficCounts{}, len(customers), time.Minute) {
		did := traffic.stop()
		t.Fatalf("no steady load: %s before any restart:\n%s", did, strings.Join(did.failures, "\n"))
	}
	report := []string{fmt.Sprintf("before the restarts: %s", traffic.now())}
	for _, p := range procs {
		before, start := traffic.now(), time.Now()
		if err := p.Stop(); err != nil {
			t.Errorf("%s did not stop cleanly: %v", p.Name(), err)
		}
		stopped := time.Since(start)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := c.Restart(ctx, nil, p)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if err := r.lb.await(backend, p.Name(), "UP"); err != nil {
			t.Fatal(err)
		}
		report = append(report, fmt.Sprintf("%s: stopped in %s, back in HAProxy after %s: %s", p.Name(),
			stopped.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), traffic.now().since(before)))
	}
	// The new processes carry the load before it stops.
	after := traffic.now()
	if !traffic.awaitConfirmed(after, len(customers), time.Minute) {
		t.Errorf("the load stalled after the restarts: %s", traffic.now().since(after))
	}
	report = append(report, fmt.Sprintf("after the restarts: %s", traffic.now().since(after)))
	did := traffic.stop()
	report = append(report, fmt.Sprintf("in all: %s", did))
	for _, line := range report {
		testreport.Print(t, "rollout %s: %s", r.name, line)
	}
	for _, f := range did.failures {
		t.Errorf("failed request: %s", f)
	}
	for _, cu := range customers {
		lb.confirmedOnce(cu)
	}
}

// balancer is HAProxy in front of the shop's processes. It checks GET
// /readyz of each server every 200 ms and takes it out after two failures
// (within the default drain delay), and retries nothing: a refused
// connection is a failed request.
type balancer struct {
	t         *testing.T
	frontends []lbFrontend
	ports     map[string]int // frontend (and "stats") → port
}

// lbFrontend is a frontend and its backend of the same name.
type lbFrontend struct {
	name    string
	servers []lbServer
}

// lbServer is a process behind HAProxy: where requests go, and where
// /readyz is checked.
type lbServer struct{ name, addr, check string }

func startBalancer(t *testing.T, haproxy, dir string, frontends []lbFrontend) *balancer {
	t.Helper()
	ports := freePorts(t, len(frontends)+1)
	b := &balancer{t: t, frontends: frontends, ports: map[string]int{"stats": ports[len(frontends)]}}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 2s
    option httpchk GET /readyz
    retries 0
    default-server inter 200ms fall 2 rise 2
listen stats
    bind %s
    stats enable
    stats uri /stats
`, loopback(b.ports["stats"]))
	for i, f := range frontends {
		b.ports[f.name] = ports[i]
		fmt.Fprintf(&cfg, "frontend %s\n    bind %s\n    default_backend %s\nbackend %s\n", f.name, loopback(ports[i]), f.name, f.name)
		for _, s := range f.servers {
			_, port, _ := strings.Cut(s.check, ":")
			fmt.Fprintf(&cfg, "    server %s %s check port %s\n", s.name, s.addr, port)
		}
	}
	file := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(haproxy, "-db", "-f", file)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = cmd.Wait() })
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		wg.Wait()
		log.Close()
		if t.Failed() {
			t.Logf("haproxy.cfg:\n%s\nHAProxy's output:\n%s", cfg.String(), tail(log.Name(), 4000))
		}
	})
	return b
}

// url is the base URL of a frontend.
func (b *balancer) url(frontend string) string {
	return "http://" + loopback(b.ports[frontend])
}

// state is a server's status on HAProxy's stats page: UP, DOWN, …
func (b *balancer) state(backend, server string) (string, error) {
	resp, err := http.Get(b.url("stats") + "/stats;csv")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	rd := csv.NewReader(resp.Body)
	rd.FieldsPerRecord = -1
	rows, err := rd.ReadAll()
	if err != nil {
		return "", err
	}
	for _, row := range rows {
		if len(row) > 17 && row[0] == backend && row[1] == server {
			return row[17], nil
		}
	}
	return "", fmt.Errorf("HAProxy's stats list no server %s/%s", backend, server)
}

// await waits until HAProxy gives the server that status.
func (b *balancer) await(backend, server, want string) error {
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := b.state(backend, server)
		if err == nil && got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("HAProxy: %s/%s is %q (%v), not %s after a minute", backend, server, got, err, want)
		}
		<-poll.C
	}
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// warnings are the last n lines of a log logged at WARN or ERROR.
func warnings(name string, n int) string {
	data, _ := os.ReadFile(name)
	var out []string
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out[max(len(out)-n, 0):], "")
}

// tail is the end of a file, at most n bytes.
func tail(name string, n int) string {
	data, _ := os.ReadFile(name)
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}
