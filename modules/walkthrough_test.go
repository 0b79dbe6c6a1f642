package modules_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/natstest"
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
	haproxy := haproxyPath(t)
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
	products := lb.products()
	customers := make([]*customer, 3)
	for i := range customers {
		customers[i] = lb.register(fmt.Sprintf("walk%d@example.com", i))
	}

	for _, phase := range []string{phaseExtract, phaseMove, phaseRollback} {
		traffic := startTraffic(lb, customers, products, 0, phase == phaseMove)
		run(phase)
		did := traffic.stop()
		for _, f := range did.failures {
			t.Errorf("%s: failed request: %s", phase, f)
		}
		if did.confirmed == 0 && phase != phaseMove {
			t.Errorf("%s: no checkout was confirmed while the steps ran", phase)
		}
		t.Logf("%s: %d checkouts confirmed while the steps ran", phase, did.confirmed)
		if phase == phaseMove {
			// Catalog is back, but a replica whose circuit to catalog
			// opened while it was stopped refuses to price for a few
			// seconds more: the next phase starts once the shop prices.
			lb.awaitPricing(customers[0], products[0])
		}
	}
	for _, c := range customers {
		lb.confirmedOnce(c)
	}
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
