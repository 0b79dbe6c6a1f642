package topology

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The launcher's tests run this test binary as a stand-in for the shop
// (fakeShop): it lists shopModules, listens where the shop would, logs
// what the shop logs, and can fail to start or ignore SIGTERM on request.
func TestMain(m *testing.M) {
	if os.Getenv("TOPOLOGY_FAKE_SHOP") == "1" {
		os.Exit(fakeShop(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeShop(args []string) int {
	logLine := func(msg string, kv ...string) {
		rec := map[string]string{"level": "INFO", "msg": msg}
		for i := 0; i+1 < len(kv); i += 2 {
			rec[kv[i]] = kv[i+1]
		}
		b, _ := json.Marshal(rec)
		fmt.Fprintln(os.Stderr, string(b))
	}
	if slices.Equal(args, []string{"modules", "--json"}) {
		b, _ := json.Marshal(shopModules)
		fmt.Println(string(b))
		return 0
	}
	if os.Getenv("FAKE_FAIL") != "" {
		logLine("configuration: " + os.Getenv("FAKE_FAIL"))
		return 1
	}
	term := make(chan os.Signal, 1)
	if os.Getenv("FAKE_IGNORE_TERM") != "" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(term, syscall.SIGTERM)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/env", func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(os.Environ()) })
	for _, l := range []struct{ setting, msg string }{
		{"SHOP_HTTP_INTERNAL_ADDR", "internal server listening"}, {"SHOP_HTTP_ADDR", "http server listening"}} {
		addr := os.Getenv(l.setting)
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			logLine("listen: " + err.Error())
			return 1
		}
		go func() { _ = http.Serve(ln, mux) }()
		logLine(l.msg, "addr", ln.Addr().String())
	}
	<-term
	logLine("stopped")
	return 0
}

// launch starts t with the fake shop and stops it when the test ends.
func launch(t *testing.T, tp Topology, o Options) (*Cluster, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o.Binary = exe
	o.Env = append(o.Env, "TOPOLOGY_FAKE_SHOP=1")
	o.NATSURL = "nats://127.0.0.1:4222"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx, tp, o)
	if c != nil {
		t.Cleanup(func() { _ = c.Stop() })
	}
	return c, err
}

// envOf asks a running fake process for its environment.
func envOf(t *testing.T, p *Process) map[string]string {
	t.Helper()
	resp, err := http.Get(p.URL() + "/env")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var kvs []string
	if err := json.NewDecoder(resp.Body).Decode(&kvs); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Every module in a process of its own behind an edge: each process hosts
// its group, reaches the others at their internal listeners, carries events
// over NATS and has its own database budget; its lines come out under its
// name; one stop ends them all cleanly.
func TestSplitStartsEveryProcessWithItsNeighbours(t *testing.T) {
	t.Parallel()
	tp, err := Named(Split, shopModules, true)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	c, err := launch(t, tp, Options{DatabaseURL: "postgres://db/shop", Output: &out,
		ProcessEnv: func(g Group) []string { return []string{fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", 3+3*len(g.Modules))} }})
	if err != nil {
		t.Fatal(err)
	}
	if c.Front().Name() != "edge" || len(c.Processes()) != 9 {
		t.Fatalf("front %s of %d processes, want the edge of 9", c.Front().Name(), len(c.Processes()))
	}
	pids := map[int]bool{}
	for _, p := range c.Processes() {
		pids[p.PID()] = true
		env := envOf(t, p)
		modules := strings.Join(p.Modules(), ",")
		if p.Name() == "edge" {
			modules = "none"
		}
		wantBudget := fmt.Sprint(3 + 3*len(p.Modules()))
		if env["SHOP_MODULES"] != modules || env["SHOP_EVENTS_TRANSPORT"] != "nats" || env["SHOP_NATS_URL"] == "" ||
			env["DATABASE_URL"] != "postgres://db/shop" || env["SHOP_DB_MAX_CONNS"] != wantBudget {
			t.Errorf("%s runs with %v", p.Name(), env)
		}
		// Nine schedulers on the machine's cores: together no more
		// threads running Go than cores, but one each at least.
		if procs, err := strconv.Atoi(env["GOMAXPROCS"]); err != nil || procs < 1 || 9*procs > max(runtime.NumCPU(), 9) {
			t.Errorf("%s runs with GOMAXPROCS=%q, one of nine processes on %d cores", p.Name(), env["GOMAXPROCS"], runtime.NumCPU())
		}
		if "http://"+env["SHOP_HTTP_INTERNAL_ADDR"] != p.Internal() {
			t.Errorf("%s listens inside on %s, the others reach it at %s", p.Name(), env["SHOP_HTTP_INTERNAL_ADDR"], p.Internal())
		}
		// Each neighbour's address is its host's internal listener, which answers.
		var urls []string
		for _, m := range tp.Needs(tp.Groups[slices.IndexFunc(tp.Groups, func(g Group) bool { return g.Name == p.Name() })]) {
			host := c.Host(m)
			urls = append(urls, m+"="+host.Internal())
			if resp, err := http.Get(host.Internal() + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("%s's internal listener: %v", host.Name(), err)
			} else {
				resp.Body.Close()
			}
		}
		if got := env["SHOP_MODULE_URLS"]; got != strings.Join(urls, ",") {
			t.Errorf("%s: SHOP_MODULE_URLS=%s, want %s", p.Name(), got, strings.Join(urls, ","))
		}
	}
	if len(pids) != 9 {
		t.Errorf("%d distinct processes, want 9", len(pids))
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, p := range c.Processes() {
		select {
		case <-p.Done():
		default:
			t.Errorf("%s still runs after Stop", p.Name())
		}
		prefix := fmt.Sprintf("%-13s | ", p.Name())
		if !strings.Contains(out.String(), prefix+`{"level":"INFO","msg":"stopped"}`) {
			t.Errorf("no line %q in the output:\n%s", prefix+"…stopped", out.String())
		}
	}
}

// A process that cannot start fails the launch with its last lines, and
// the processes already started are stopped.
func TestAProcessThatExitsFailsTheStart(t *testing.T) {
	t.Parallel()
	tp, err := Named(Catalog, shopModules, true)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	c, err := launch(t, tp, Options{Output: &out, ProcessEnv: func(g Group) []string {
		if g.Name == "rest" {
			return []string{"FAKE_FAIL=SHOP_MODULE_URLS is wrong"}
		}
		return nil
	}})
	if c != nil || err == nil || !strings.Contains(err.Error(), "rest exited (exit status 1)") ||
		!strings.Contains(err.Error(), "configuration: SHOP_MODULE_URLS is wrong") {
		t.Fatalf("start = %v, %v; want rest's failure with its last line", c, err)
	}
	if !strings.Contains(out.String(), `catalog | {"level":"INFO","msg":"stopped"}`) {
		t.Errorf("catalog was not stopped:\n%s", out.String())
	}
}

// A process that ignores SIGTERM is killed after StopTimeout, and Stop
// says so; a killed process starts again on the same internal address.
func TestStopKillsAProcessThatIgnoresSIGTERMAndRestartKeepsTheAddress(t *testing.T) {
	t.Parallel()
	tp, err := Named(Catalog, shopModules, true)
	if err != nil {
		t.Fatal(err)
	}
	var lines sync.Map
	c, err := launch(t, tp, Options{StopTimeout: 2 * time.Second,
		OnLine: func(process, line string) { lines.Store(process+": "+line, true) },
		ProcessEnv: func(g Group) []string {
			if g.Name == "catalog" {
				return []string{"FAKE_IGNORE_TERM=1"}
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lines.Load(`rest: {"addr":"` + strings.TrimPrefix(c.Front().URL(), "http://") + `","level":"INFO","msg":"http server listening"}`); !ok {
		t.Errorf("OnLine did not see rest's listening line")
	}
	catalog := c.Process("catalog")
	internal := catalog.Internal()
	catalog.Kill()
	if err := c.Restart(context.Background(), nil, c.Processes()...); err != nil {
		t.Fatal(err)
	}
	if catalog.Internal() != internal || envOf(t, catalog)["SHOP_HTTP_INTERNAL_ADDR"] != strings.TrimPrefix(internal, "http://") {
		t.Errorf("catalog restarted at %s, was %s", catalog.Internal(), internal)
	}
	start := time.Now()
	err = c.Stop()
	if err == nil || !strings.Contains(err.Error(), "catalog did not exit within 2s of SIGTERM and was killed") {
		t.Fatalf("stop = %v", err)
	}
	if strings.Contains(err.Error(), "rest") {
		t.Errorf("rest did not stop cleanly: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stop took %s", d)
	}
	<-catalog.Done()
}

// A group of replicas: each is a process of its own with its fixed
// listeners, which a restart keeps; the others reach the group's module at
// the balancer's URL, never at one replica. Replicas without such a URL are
// refused.
func TestReplicasListenWhereToldBehindTheModulesURL(t *testing.T) {
	t.Parallel()
	tp, err := Named(Catalog, shopModules, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := launch(t, tp, Options{Replicas: map[string]int{"catalog": 2}}); err == nil ||
		!strings.Contains(err.Error(), "group catalog runs 2 replicas") {
		t.Fatalf("start without catalog's URL = %v, want refused", err)
	}
	addrs := make([]string, 4)
	for i := range addrs {
		if addrs[i], err = FreeAddr(); err != nil {
			t.Fatal(err)
		}
	}
	const balancer = "http://balancer.test:8081"
	c, err := launch(t, tp, Options{Replicas: map[string]int{"catalog": 2}, ModuleURLs: map[string]string{"catalog": balancer},
		Listen: map[string]Listeners{"catalog-2": {Public: addrs[0], Internal: addrs[1], Ops: addrs[2]}, "rest": {Public: addrs[3]}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range c.Processes() {
		names = append(names, p.Name())
	}
	if !slices.Equal(names, []string{"catalog-1", "catalog-2", "rest"}) {
		t.Fatalf("processes %v, want catalog-1, catalog-2, rest", names)
	}
	one, two := c.Process("catalog-1"), c.Process("catalog-2")
	if one.Internal() == "" || one.Internal() == two.Internal() || c.Host("catalog") != one {
		t.Errorf("catalog's replicas listen inside at %q and %q", one.Internal(), two.Internal())
	}
	want := map[string]string{"SHOP_HTTP_ADDR": addrs[0], "SHOP_HTTP_INTERNAL_ADDR": addrs[1], "SHOP_HTTP_OPS_ADDR": addrs[2], "SHOP_MODULES": "catalog"}
	check := func() {
		t.Helper()
		env := envOf(t, two)
		for k, v := range want {
			if env[k] != v {
				t.Errorf("catalog-2: %s=%s, want %s", k, env[k], v)
			}
		}
	}
	check()
	if env := envOf(t, c.Front()); !strings.Contains(env["SHOP_MODULE_URLS"], "catalog="+balancer) || env["SHOP_HTTP_ADDR"] != addrs[3] {
		t.Errorf("rest reaches catalog with SHOP_MODULE_URLS=%s, listens on %s", env["SHOP_MODULE_URLS"], env["SHOP_HTTP_ADDR"])
	}
	if err := two.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(context.Background(), nil, two); err != nil {
		t.Fatal(err)
	}
	check()
}

// The processes of a topology share the machine's cores; a GOMAXPROCS the
// caller sets is theirs instead.
func TestCoLocatedProcessesShareTheCores(t *testing.T) {
	t.Parallel()
	tp, err := Named(Catalog, shopModules, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := launch(t, tp, Options{Env: []string{"GOMAXPROCS=7"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Processes() {
		if got := envOf(t, p)["GOMAXPROCS"]; got != "7" {
			t.Errorf("%s runs with GOMAXPROCS=%s, want the caller's 7", p.Name(), got)
		}
	}
}
