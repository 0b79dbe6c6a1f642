package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/topology"
)

// build compiles a command of the repository into dir/name.
func build(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build %s: %v", pkg, err)
	}
	return out
}

var (
	readyLine   = regexp.MustCompile(`msg="the shop is ready; Ctrl-C stops it" .*url=(\S+)`)
	processLine = regexp.MustCompile(`msg="process ready" .*name=(\S+) pid=(\d+)`)
)

// The command a developer runs: it seeds the database, starts the processes
// of the topology with an embedded NATS server, serves the shop at the
// front, and on Ctrl-C stops every process and exits 0.
func TestSplitRunsTheShopAndStopsEveryProcessOnInterrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	shop, split := build(t, dir, "shop", "../shop"), build(t, dir, "split", ".")
	const topo = topology.Split
	modules, err := topology.ModulesOf(context.Background(), shop)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := topology.Named(topo, modules, true)
	if err != nil {
		t.Fatal(err)
	}
	// The seed's connections, then every process's: the seed has exited
	// before the processes start.
	var budget int32
	for _, g := range tp.Groups {
		budget += int32(conns(g))
	}
	budget = max(budget, int32(seedConns(len(modules))))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	release, err := dbtest.Hold(ctx, budget)
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	cmd := exec.Command(split, "-shop", shop, "-topology", topo, "-products", "5")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DATABASE_URL=" + dbtest.NewURL(t),
		"SHOP_HTTP_ADDR=127.0.0.1:0", "SHOP_BOOTSTRAP_ADMIN_EMAIL=admin@shop.test", "SHOP_BOOTSTRAP_ADMIN_PASSWORD=admin-test-password"}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	// Room for every line the test reads, so that split never waits on it.
	lines := make(chan string, 1<<16)
	var logs strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	// Read until the shop is ready: the front's URL and each process's id.
	var front string
	pids := map[string]int{}
	deadline := time.After(3 * time.Minute)
	for front == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("split exited before the shop was ready:\n%s", logs.String())
			}
			logs.WriteString(line + "\n")
			if m := processLine.FindStringSubmatch(line); m != nil {
				pids[m[1]], _ = strconv.Atoi(m[2])
			}
			if m := readyLine.FindStringSubmatch(line); m != nil {
				front = m[1]
			}
		case <-deadline:
			t.Fatalf("the shop was not ready within 3 minutes:\n%s", logs.String())
		}
	}
	if len(pids) != len(tp.Groups) {
		t.Fatalf("processes %v, want one per group of %s (%d):\n%s", pids, topo, len(tp.Groups), logs.String())
	}
	// The bootstrap admin signs in at the front.
	resp, err := http.Post(front+"/api/identity/login", "application/json",
		strings.NewReader(`{"email":"admin@shop.test","password":"admin-test-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"token"`) {
		t.Errorf("admin login at the front: %d %s", resp.StatusCode, body)
	}

	// Ctrl-C: every process exits, and so does split, with 0.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for line := range lines {
		logs.WriteString(line + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("split after Ctrl-C: %v\n%s", err, logs.String())
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %s (pid %d) still exists after split exited: %v", name, pid, err)
		}
	}
	if !strings.Contains(logs.String(), "every process exited cleanly") {
		t.Errorf("split did not say every process exited cleanly:\n%s", logs.String())
	}
	if t.Failed() {
		fmt.Fprintln(os.Stderr, logs.String())
	}
}
