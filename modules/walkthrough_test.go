package modules_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/natstest"
	"github.com/shopmonolith/shop/platform/topology"
)

// A block of README.md that the walkthrough runs: a ```sh block whose first
// line is "# run: <phase> <name>". Prelude blocks (settings, helpers) are
// sourced first; the others run in order within their phase.
type block struct {
	phase, name, script string
}

const (
	phasePrelude  = "prelude"
	phaseSetup    = "setup"
	phaseExtract  = "extract"
	phaseMove     = "move"
	phaseRollback = "rollback"
)

// walkthroughBlocks reads the runnable blocks of the walkthrough.
func walkthroughBlocks(t *testing.T) []block {
	t.Helper()
	doc, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []block
	var cur *block
	for line := range strings.Lines(string(doc)) {
		line = strings.TrimRight(line, "\n")
		switch {
		case cur == nil && line == "```sh":
			cur = &block{}
		case cur != nil && line == "```":
			if cur.phase != "" {
				blocks = append(blocks, *cur)
			}
			cur = nil
		case cur != nil && cur.script == "" && cur.phase == "" && strings.HasPrefix(line, "# run: "):
			cur.phase, cur.name, _ = strings.Cut(strings.TrimPrefix(line, "# run: "), " ")
			cur.script = line + "\n"
		case cur != nil:
			cur.script += line + "\n"
		}
	}
	known := map[string]bool{phasePrelude: true, phaseSetup: true, phaseExtract: true, phaseMove: true, phaseRollback: true}
	count := map[string]int{}
	for _, b := range blocks {
		if !known[b.phase] {
			t.Fatalf("README.md: block %q has unknown phase %q", b.name, b.phase)
		}
		count[b.phase]++
	}
	for p := range known {
		if count[p] == 0 {
			t.Fatalf("README.md has no %s block", p)
		}
	}
	return blocks
}

// The walkthrough, as written: a monolith of two replicas behind HAProxy
// on a fresh database takes catalog out in four steps, moves catalog's data
// to a database of its own and takes catalog back in, while customers shop
// and check out through the load balancer. No request fails (but those that
// need catalog while the move stops it: they answer 503, and carts are
// stale), and every checkout is confirmed exactly once; the blocks' own
// checks (readiness, HAProxy's view, shop modules, metrics) pass.
func TestWalkthrough(t *testing.T) {
	t.Parallel()
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		// Debian installs it in /usr/sbin, off a user's PATH.
		if haproxy, err = exec.LookPath("/usr/sbin/haproxy"); err != nil {
			t.Fatal("the walkthrough needs HAProxy (apt-get install haproxy)")
		}
	}
	blocks := walkthroughBlocks(t)
	bin := buildShop(t)

	// The connections of two replicas and catalog's process, as the
	// overrides below size them (within the default test budget; operator
	// commands run while no more than this is in use). With one event
	// worker per subscriber, each replica gives the modules that handle
	// events three connections and the others two.
	const replicaConns, catalogConns = 24, 5
	dbtest.Reserve(t, 2*replicaConns+catalogConns)
	dir := t.TempDir()
	ports := freePorts(t, 4)
	replicas := freePortRuns(t, 2)
	catalog := freePortRuns(t, 1)
	env := []string{
		"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + filepath.Dir(haproxy) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"DATABASE_URL=" + dbtest.NewURL(t),
		"CATALOG_DATABASE_URL=" + dbtest.NewEmptyURL(t),
		"NATS_URL=" + natstest.Start(t).URL(),
		"BIND=127.0.0.1",
		fmt.Sprintf("LB_PUBLIC_PORT=%d", ports[0]),
		fmt.Sprintf("LB_INTERNAL_PORT=%d", ports[1]),
		fmt.Sprintf("LB_CATALOG_PORT=%d", ports[2]),
		fmt.Sprintf("LB_STATS_PORT=%d", ports[3]),
		fmt.Sprintf("REPLICA_PORTS=%d %d", replicas[0], replicas[1]),
		fmt.Sprintf("CATALOG_PORT=%d", catalog[0]),
		fmt.Sprintf("REPLICA_DB_CONNS=%d", replicaConns),
		fmt.Sprintf("CATALOG_DB_CONNS=%d", catalogConns),
		// The least serve accepts with these budgets.
		"SHOP_EVENTS_WORKERS=1",
		"SHOP_DIR=" + filepath.Join(dir, "rehearsal"),
	}
	sh := startShell(t, dir, env)
	run := func(phase string) {
		for _, b := range blocks {
			if b.phase == phase {
				sh.run(b)
			}
		}
	}
	run(phasePrelude)
	run(phaseSetup)

	lb := &client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), http: &http.Client{Timeout: 20 * time.Second}}
	products := lb.productIDs()
	customers := make([]*customer, 3)
	for i := range customers {
		customers[i] = lb.register(fmt.Sprintf("walk%d@example.com", i))
	}

	for _, phase := range []string{phaseExtract, phaseMove, phaseRollback} {
		traffic := startTraffic(lb, customers, products, phase == phaseMove)
		run(phase)
		checkouts, failures := traffic.stop()
		for _, f := range failures {
			t.Errorf("%s: failed request: %s", phase, f)
		}
		if checkouts == 0 && phase != phaseMove {
			t.Errorf("%s: no checkout was confirmed while the steps ran", phase)
		}
		t.Logf("%s: %d checkouts confirmed while the steps ran", phase, checkouts)
	}
	for _, c := range customers {
		lb.confirmedOnce(c)
	}
}

// buildShop builds the binary once for this test (without the race
// detector: five processes of it share the machine).
func buildShop(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shop")
	build := exec.Command("go", "build", "-o", bin, "../cmd/shop")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build shop: %v\n%s", err, out)
	}
	return bin
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	return portRuns(t, n, 1)
}

// freePortRuns returns the first ports of n runs of three free consecutive
// ones: a process's public, internal and operators' ports.
func freePortRuns(t *testing.T, n int) []int {
	t.Helper()
	return portRuns(t, n, 3)
}

// portRuns finds n runs of size free consecutive loopback ports below the
// kernel's ephemeral range: the blocks listen on some of them only minutes
// later, and a port of that range could meanwhile be the local end of any
// outgoing connection.
func portRuns(t *testing.T, n, size int) []int {
	t.Helper()
	runs, err := topology.FreePortRuns(n, size)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// shell is one bash session that runs the blocks in order, so that the
// processes they start in the background are its jobs: it reaps them, and
// the test stops them all through it (or, if it died, through its process
// group).
type shell struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	acks   chan struct{} // one per block run to its end
	exited chan struct{} // closed when bash has exited
	out    string        // the file its output goes to
	dir    string
	n      int
}

func startShell(t *testing.T, dir string, env []string) *shell {
	t.Helper()
	s := &shell{t: t, dir: dir, out: filepath.Join(dir, "shell.log")}
	out, err := os.Create(s.out)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ackR, ackW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer ackW.Close()
	s.cmd = exec.Command("bash", "--noprofile", "--norc", "-s")
	s.cmd.Dir, s.cmd.Env = dir, env
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.ExtraFiles = []*os.File{ackW} // fd 3
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.in, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The processes the blocks start inherit the acknowledgement pipe, so
	// its end does not say that bash exited: Wait does.
	s.acks, s.exited = make(chan struct{}), make(chan struct{})
	go func() {
		for sc := bufio.NewScanner(ackR); sc.Scan(); {
			s.acks <- struct{}{}
		}
	}()
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() { s.stop(); ackR.Close() })
	fmt.Fprintln(s.in, "set -euo pipefail")
	return s
}

// run sources a block in the session and waits until it has finished.
func (s *shell) run(b block) {
	s.t.Helper()
	s.n++
	file := filepath.Join(s.dir, fmt.Sprintf("block-%02d.sh", s.n))
	if err := os.WriteFile(file, []byte(b.script), 0o644); err != nil {
		s.t.Fatal(err)
	}
	start := time.Now()
	fmt.Fprintf(s.in, "source %q\necho ok >&3\n", file)
	select {
	case <-s.acks:
	case <-s.exited:
		s.t.Fatalf("block %s %q failed:\n%s", b.phase, b.name, s.logs())
	case <-time.After(3 * time.Minute):
		s.t.Fatalf("block %s %q did not finish within 3 minutes:\n%s", b.phase, b.name, s.logs())
	}
	s.t.Logf("%s %s: %s", b.phase, b.name, time.Since(start).Round(time.Millisecond))
}

// logs returns the session's output and the logs of the processes the
// blocks started.
func (s *shell) logs() string {
	var b strings.Builder
	out, _ := os.ReadFile(s.out)
	fmt.Fprintf(&b, "--- shell\n%s", out)
	files, _ := filepath.Glob(filepath.Join(s.dir, "rehearsal", "log", "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) > 8000 {
			data = data[len(data)-8000:]
		}
		fmt.Fprintf(&b, "--- %s (end)\n%s", filepath.Base(f), data)
	}
	return b.String()
}

// stop ends every process the blocks started: the session stops its jobs
// gracefully and waits for them; a session that does not exit in time is
// killed with its whole process group.
func (s *shell) stop() {
	fmt.Fprintln(s.in, `kill -TERM $(jobs -p) 2>/dev/null || true; wait; exit 0`)
	s.in.Close()
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	// Anything left in the group (the session died first) goes too.
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	if s.t.Failed() {
		s.t.Logf("walkthrough logs:\n%s", s.logs())
		if keep := os.Getenv("WALK_KEEP"); keep != "" {
			_ = exec.Command("cp", "-r", s.dir, keep).Run()
		}
	}
}

// client talks to the shop through the load balancer.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

type customer struct {
	email, token string

	mu     sync.Mutex
	orders []string // placed by the traffic
}

// do sends a request and returns the status and body, or an error for a
// request that got no answer.
func (c *client) do(method, path, token string, body any, headers ...string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(buf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// must sends a request that must answer want, and decodes the body into out.
func (c *client) must(want int, out any, method, path, token string, body any, headers ...string) {
	c.t.Helper()
	status, data, err := c.do(method, path, token, body, headers...)
	if err != nil || status != want {
		c.t.Fatalf("%s %s: %d %v %s, want %d", method, path, status, err, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

func (c *client) productIDs() []string {
	c.t.Helper()
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	c.must(http.StatusOK, &page, "GET", "/api/products?limit=40", "", nil)
	if len(page.Items) < 10 {
		c.t.Fatalf("the demo catalog lists %d products", len(page.Items))
	}
	ids := make([]string, len(page.Items))
	for i, p := range page.Items {
		ids[i] = p.ID
	}
	return ids
}

func (c *client) register(email string) *customer {
	c.t.Helper()
	creds := map[string]any{"email": email, "password": "a long enough password"}
	c.must(http.StatusAccepted, nil, "POST", "/api/identity/register", "", map[string]any{
		"email": email, "password": "a long enough password", "name": "Walkthrough Customer"})
	var out struct {
		Token string `json:"token"`
	}
	c.must(http.StatusOK, &out, "POST", "/api/identity/login", "", creds)
	return &customer{email: email, token: out.Token}
}

// order is an order as the API shows it.
type order struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Timeline []struct {
		Step string `json:"step"`
	} `json:"timeline"`
}

func (o order) count(step string) int {
	n := 0
	for _, s := range o.Timeline {
		if s.Step == step {
			n++
		}
	}
	return n
}

// confirmedOnce checks the customer's orders: exactly those the traffic
// placed, each confirmed once.
func (c *client) confirmedOnce(cu *customer) {
	c.t.Helper()
	var listed []order
	for after := ""; ; {
		var page struct {
			Items      []order `json:"items"`
			NextCursor string  `json:"next_cursor"`
		}
		c.must(http.StatusOK, &page, "GET", "/api/orders?limit=100&after="+after, cu.token, nil)
		listed = append(listed, page.Items...)
		if after = page.NextCursor; after == "" {
			break
		}
	}
	placed := map[string]bool{}
	for _, id := range cu.orders {
		placed[id] = true
	}
	if len(listed) != len(placed) || len(placed) != len(cu.orders) {
		c.t.Errorf("%s has %d orders, the traffic placed %d (%d distinct)", cu.email, len(listed), len(cu.orders), len(placed))
	}
	for _, listed := range listed {
		var o order
		c.must(http.StatusOK, &o, "GET", "/api/orders/"+listed.ID, cu.token, nil)
		if !placed[o.ID] || o.Status != "confirmed" || o.count("confirmed") != 1 {
			c.t.Errorf("order %s of %s: placed by the traffic %v, status %s, confirmed %d times", o.ID, cu.email, placed[o.ID], o.Status, o.count("confirmed"))
		}
	}
}

// traffic is customers shopping through the load balancer until stopped:
// each reads products, adds one to the cart, reads the cart, checks out
// and waits for the order to be confirmed, again and again, starting a
// round every roundEvery at most (a steady load that the demo stock, 25
// units of each product, outlasts).
type traffic struct {
	lb       *client
	products []string
	// catalogPaused: catalog is stopped on purpose (while its data moves),
	// so what needs it may answer 503 and carts may be stale; anything
	// else still fails.
	catalogPaused bool
	quit          chan struct{}
	wg            sync.WaitGroup
	mu            sync.Mutex
	failures      []string
	confirmed     int
}

const roundEvery = 400 * time.Millisecond

func startTraffic(lb *client, customers []*customer, products []string, catalogPaused bool) *traffic {
	tr := &traffic{lb: lb, products: products, catalogPaused: catalogPaused, quit: make(chan struct{})}
	for _, c := range customers {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			pace := time.NewTicker(roundEvery)
			defer pace.Stop()
			for {
				select {
				case <-tr.quit:
					return
				case <-pace.C:
				}
				if tr.shop(c) {
					tr.mu.Lock()
					tr.confirmed++
					tr.mu.Unlock()
				}
			}
		}()
	}
	return tr
}

// stop waits for every customer's round in progress to finish and returns
// the checkouts confirmed and the requests that failed.
func (tr *traffic) stop() (int, []string) {
	close(tr.quit)
	tr.wg.Wait()
	return tr.confirmed, tr.failures
}

func (tr *traffic) fail(format string, args ...any) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.failures = append(tr.failures, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	return false
}

// call sends a request that must answer want, and decodes the body into out.
func (tr *traffic) call(want int, out any, method, path, token string, body any, headers ...string) bool {
	status, data, err := tr.lb.do(method, path, token, body, headers...)
	if err != nil {
		return tr.fail("%s %s: %v", method, path, err)
	}
	if status != want {
		if status == http.StatusServiceUnavailable && tr.catalogPaused && needsCatalog(method, path) {
			return false
		}
		return tr.fail("%s %s: %d %s", method, path, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return tr.fail("%s %s: %v: %s", method, path, err, data)
		}
	}
	return true
}

// shop runs one customer's round and reports whether it ended with a
// confirmed order.
func (tr *traffic) shop(c *customer) bool {
	product := tr.products[rand.IntN(len(tr.products))]
	var cart struct {
		Stale bool `json:"stale"`
	}
	if !tr.call(http.StatusOK, nil, "GET", "/api/products?limit=5", "", nil) ||
		!tr.call(http.StatusOK, nil, "GET", "/api/products/"+product, "", nil) ||
		!tr.call(http.StatusOK, nil, "POST", "/api/cart/items", c.token, map[string]any{"product_id": product, "quantity": 1}) ||
		!tr.call(http.StatusOK, &cart, "GET", "/api/cart", c.token, nil) {
		return false
	}
	if cart.Stale && tr.catalogPaused {
		return false // the last known prices; checkout would refuse them
	}
	if cart.Stale {
		return tr.fail("GET /api/cart: stale prices (catalog unreachable)")
	}
	var placed order
	if !tr.call(http.StatusCreated, &placed, "POST", "/api/orders", c.token, map[string]any{"card_number": payments.CardApprove},
		"Idempotency-Key: "+uuid.NewString()) {
		return false
	}
	c.mu.Lock()
	c.orders = append(c.orders, placed.ID)
	c.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		var o order
		if !tr.call(http.StatusOK, &o, "GET", "/api/orders/"+placed.ID, c.token, nil) {
			return false
		}
		switch o.Status {
		case "confirmed":
			return true
		case "placed", "stock_reserved":
		default:
			return tr.fail("order %s: %s, want confirmed", placed.ID, o.Status)
		}
		if time.Now().After(deadline) {
			return tr.fail("order %s: still %s after 30s", placed.ID, o.Status)
		}
		<-poll.C
	}
}

// needsCatalog reports whether a request of the traffic needs catalog to
// answer: the product pages, adding to the cart (the product must exist)
// and checkout (the prices must be confirmed).
func needsCatalog(method, path string) bool {
	return strings.HasPrefix(path, "/api/products") || method == "POST" && (path == "/api/cart/items" || path == "/api/orders")
}
