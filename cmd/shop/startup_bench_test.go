package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/benchtest"
	"github.com/shopmonolith/shop/platform/database/dbtest"
)

// Start-up goals: from exec to ready, and resident memory once idle.
const (
	startupGoal = time.Second
	idleRSSGoal = 40 << 20 // bytes
	// startupIdle is how long the shop idles before its RSS is read.
	startupIdle = 5 * time.Second
	// startupRuns is how many starts each iteration measures.
	startupRuns = 5
)

// startupBinaryEnv names another shop binary for BenchmarkStartup to
// measure in place of the one it builds (an earlier build, to compare on
// the same machine).
const startupBinaryEnv = "SHOP_BENCH_STARTUP_BINARY"

// BenchmarkStartup starts the monolith as an operator does: the binary
// built as `make build` builds it, `shop serve` with every module, on a
// fresh database that is already migrated (a restart, or a new replica).
// Each start is timed from exec to the first 200 of GET /readyz (asked as
// soon as the process logs that it listens, then every millisecond until
// it answers 200); the process's resident memory (VmRSS, /proc/<pid>/status)
// is read after it has idled for startupIdle; then it is stopped with
// SIGTERM. It reports the medians over the starts, with the steps the
// shop's own "started" line times (databases, modules, start), what comes
// before serve's first line (exec, the runtime, package initialisation:
// before_serve_ms) and the process's CPU time up to ready, and ends with
// the goal lines: ready within 1 s, idle RSS within 40 MB.
func BenchmarkStartup(b *testing.B) {
	bin := os.Getenv(startupBinaryEnv)
	if bin == "" {
		bin = buildOptimised(b)
	}
	dbURL := dbtest.NewURL(b)
	release, err := holdConns(shopConns)
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DATABASE_URL=" + dbURL, "SHOP_HTTP_ADDR=127.0.0.1:0", "SHOP_LOG_FORMAT=json",
		"SHOP_DB_MAX_CONNS=" + strconv.Itoa(shopConns),
	}
	var runs []startupRun
	b.ResetTimer()
	for range b.N {
		for range startupRuns {
			r := startOnce(b, bin, env)
			b.Logf("start: ready %v, RSS %.1f MB idle, CPU %v; %s", r.ready.Round(time.Millisecond), mb(r.rss),
				r.cpu, r.steps)
			runs = append(runs, r)
		}
	}
	b.StopTimer()
	median := func(get func(startupRun) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = get(r)
		}
		return benchtest.Median(xs)
	}
	ready := median(func(r startupRun) float64 { return ms(r.ready) })
	rss := median(func(r startupRun) float64 { return mb(r.rss) })
	b.ReportMetric(ready, "ready_ms")
	b.ReportMetric(rss, "idle_rss_MB")
	b.ReportMetric(median(func(r startupRun) float64 { return ms(r.cpu) }), "cpu_to_ready_ms")
	if !slices.ContainsFunc(runs, func(r startupRun) bool { return r.steps == nil }) {
		b.ReportMetric(median(func(r startupRun) float64 { return ms(r.ready - r.steps["elapsed"]) }), "before_serve_ms")
		for _, step := range []string{"databases", "modules", "start"} {
			b.ReportMetric(median(func(r startupRun) float64 { return ms(r.steps[step]) }), step+"_ms")
		}
	}
	b.ReportMetric(0, "ns/op")
	detail := fmt.Sprintf("median of %d starts", len(runs))
	benchtest.Goal(os.Stdout, "monolith start, exec → GET /readyz 200, over 1 s", "<=", 1,
		ready/ms(startupGoal), fmt.Sprintf("%.0f ms, %s", ready, detail))
	benchtest.Goal(os.Stdout, fmt.Sprintf("monolith idle RSS (after %v), over 40 MB", startupIdle), "<=", 1,
		rss/mb(idleRSSGoal), fmt.Sprintf("%.1f MB, %s", rss, detail))
}

// startupRun is what one start measured.
type startupRun struct {
	ready time.Duration // exec → GET /readyz 200
	rss   int64         // VmRSS once idle, bytes
	cpu   time.Duration // user+sys of the process from exec to ready
	// steps are the durations of the shop's "started" line (elapsed,
	// databases, modules, start); none when the binary logs none (an
	// earlier build).
	steps startupSteps
}

type startupSteps map[string]time.Duration

func (s startupSteps) String() string {
	var parts []string
	for _, k := range []string{"elapsed", "databases", "modules", "start"} {
		if d, ok := s[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %v", k, d.Round(time.Millisecond)))
		}
	}
	return strings.Join(parts, ", ")
}

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// startOnce runs one start of the shop at bin (see BenchmarkStartup).
func startOnce(b *testing.B, bin string, env []string) startupRun {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	lines := make(chan string, 64)
	exited := make(chan error, 1)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads any more: the rest is dropped
			}
		}
		exited <- cmd.Wait()
	}()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	var r startupRun
	var addr string
	for addr == "" {
		select {
		case line := <-lines:
			addr = r.note(line)
		case err := <-exited:
			b.Fatalf("shop exited before it listened: %v", err)
		case <-ctx.Done():
			b.Fatal("shop did not listen within a minute")
		}
	}
	r.ready = awaitReadyz(ctx, b, "http://"+addr+"/readyz", start)
	cpu, err := processCPU(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	r.cpu = cpu
	idle := time.NewTimer(startupIdle)
	for idling := true; idling; {
		select {
		case line := <-lines:
			r.note(line)
		case <-idle.C:
			idling = false
		case err := <-exited:
			b.Fatalf("shop exited while idle: %v", err)
		}
	}
	r.rss, err = vmRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// note reads the steps of the shop's "started" line into r.steps, and
// returns the address of its "http server listening" line, if line is one.
func (r *startupRun) note(line string) (addr string) {
	var rec map[string]any
	if json.Unmarshal([]byte(line), &rec) != nil {
		return ""
	}
	switch rec["msg"] {
	case "http server listening":
		addr, _ = rec["addr"].(string)
	case "started":
		r.steps = startupSteps{}
		for _, k := range []string{"elapsed", "databases", "modules", "start"} {
			if n, ok := rec[k].(float64); ok { // slog's JSON writes durations in ns
				r.steps[k] = time.Duration(n)
			}
		}
	}
	return addr
}

// awaitReadyz asks url until it answers 200 and returns the time since
// start. A refused or failing answer is asked again a millisecond later:
// the granularity of the measure.
func awaitReadyz(ctx context.Context, b *testing.B, url string, start time.Time) time.Duration {
	b.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	for {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		t := time.NewTimer(time.Millisecond)
		select {
		case <-ctx.Done():
			b.Fatalf("%s did not answer 200 within a minute (last: %v)", url, err)
		case <-t.C:
		}
	}
}

// vmRSS is the resident set of process pid, in bytes.
func vmRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}
