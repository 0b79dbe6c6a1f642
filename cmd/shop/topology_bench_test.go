package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/shopmonolith/shop/platform/benchtest"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/topology"
)

// BenchmarkCheckoutTopologies compares, in one run, the whole sale on the
// real binary (built without -race) run as operators run it: the monolith
// (one process, events through PostgreSQL) and the split topology (every
// module in a process of its own behind an edge, events over NATS
// JetStream). Rounds alternate between them (monolith, split, monolith,
// split, …) so that the machine's noise falls on both; each round starts
// the topology on a fresh database, prepares the products and customers,
// runs a warm-up, then a closed loop of shoppers (the load of
// BenchmarkCheckout: a product into the cart and the checkout, through the
// front) for a fixed time. A shopper learns of its order's confirmation
// from the database (confirmations), not by polling the API, so that the
// work measured is the sale's and not a number of polls that grows with
// the latency. It reports, for each topology, the medians over its rounds
// of:
//   - checkouts/s confirmed;
//   - p50 and p99 from the checkout request to the confirmed step on the
//     order's timeline;
//   - CPU seconds per confirmed checkout: user+sys of every process of the
//     topology (/proc/<pid>/stat) over the measured window, with split's
//     NATS server, which runs in a process of its own for this; PostgreSQL's
//     backends serving the round's database are reported apart (its shared
//     background processes are not counted);
//   - p99 to confirmation with checkouts arriving at half the round's rate
//     (an open loop, after the closed one);
//
// and then goal lines for split/monolith: p50 at most 2×, CPU per checkout at
// most 2.5× (and the other ratios, for information); and for each topology
// the goals of BenchmarkCheckout: checkouts/s at least a tenth of the
// server's single-row commits/s (commitCeiling, measured at the start of the
// run), p99 at half rate at most 100 ms. SHOP_BENCH_PROFILE_DIR
// writes CPU profiles of every process (profileDirEnv).
func BenchmarkCheckoutTopologies(b *testing.B) {
	const rounds = 3
	bin := buildOptimised(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	modules, err := topology.ModulesOf(ctx, bin)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	var topologies []topology.Topology
	for _, name := range []string{topology.Monolith, topology.Split} {
		tp, err := topology.Named(name, modules, true)
		if err != nil {
			b.Fatal(err)
		}
		topologies = append(topologies, tp)
	}
	got := map[string][]checkoutFigures{}
	b.ResetTimer()
	ceiling := commitCeiling(b, dbtest.NewURL(b))
	for round := 1; round <= rounds; round++ {
		for _, tp := range topologies {
			f := benchTopology(b, bin, tp)
			b.Logf("round %d, %-8s %s", round, tp.Name, f)
			got[tp.Name] = append(got[tp.Name], f)
		}
	}
	b.StopTimer()
	mono, split := medianFigures(got[topology.Monolith]), medianFigures(got[topology.Split])
	for _, t := range []struct {
		name string
		f    checkoutFigures
	}{{"monolith", mono}, {"split", split}} {
		b.ReportMetric(t.f.rate, t.name+"_checkouts/s")
		b.ReportMetric(ms(t.f.p50), t.name+"_confirm_p50_ms")
		b.ReportMetric(ms(t.f.p99), t.name+"_confirm_p99_ms")
		b.ReportMetric(ms(t.f.pacedP99), t.name+"_paced_confirm_p99_ms")
		b.ReportMetric(ms(t.f.cpu), t.name+"_cpu_ms/checkout")
		b.ReportMetric(ms(t.f.postgres), t.name+"_postgres_cpu_ms/checkout")
	}
	b.ReportMetric(ms(split.nats), "split_nats_cpu_ms/checkout")
	b.ReportMetric(ceiling, "db_commits/s")
	b.ReportMetric(0, "ns/op")

	detail := func(unit string, s, m float64) string {
		return fmt.Sprintf("%.1f / %.1f %s, median of %d rounds each", s, m, unit, rounds)
	}
	benchtest.Goal(os.Stdout, "checkout split/monolith p50 request→confirmed", "<=", 2,
		ratio(split.p50, mono.p50), detail("ms", ms(split.p50), ms(mono.p50)))
	benchtest.Goal(os.Stdout, "checkout split/monolith CPU per checkout (NATS included, PostgreSQL apart)", "<=", 2.5,
		ratio(split.cpu, mono.cpu), detail("ms", ms(split.cpu), ms(mono.cpu)))
	fmt.Printf("info | checkout split/monolith p99 request→confirmed | %.2f× (%s)\n",
		ratio(split.p99, mono.p99), detail("ms", ms(split.p99), ms(mono.p99)))
	fmt.Printf("info | checkout split/monolith throughput | %.2f× (%s)\n",
		split.rate/mono.rate, detail("checkouts/s", split.rate, mono.rate))
	fmt.Printf("info | checkout split/monolith PostgreSQL CPU per checkout | %.2f× (%s)\n",
		ratio(split.postgres, mono.postgres), detail("ms", ms(split.postgres), ms(mono.postgres)))
	checkoutGoals(os.Stdout, "monolith", mono.rate, ceiling, mono.pacedP99, mono.rate/2)
	checkoutGoals(os.Stdout, "split", split.rate, ceiling, split.pacedP99, split.rate/2)
}

// The load of every round: as many shoppers as BenchmarkCheckout's, a
// warm-up whose checkouts are not counted, then the measured window, then
// the paced one at half the measured rate.
const (
	topologyShoppers = checkoutShopper
	topologyWarmUp   = checkoutWarmUp
	topologyWindow   = 12 * time.Second
	// Long enough for a p99 of a few hundred checkouts at split's half
	// rate: at 8 s (about 150) it was the second-slowest checkout's, and
	// moved between 70 and 150 ms from round to round.
	topologyPaced = 20 * time.Second
)

// checkoutFigures are one round's figures (or their medians).
type checkoutFigures struct {
	rate     float64       // confirmed checkouts/s
	p50, p99 time.Duration // checkout request → confirmed
	pacedP99 time.Duration // the same at half rate
	cpu      time.Duration // the topology's processes (NATS included), per checkout
	nats     time.Duration // of which the NATS server
	postgres time.Duration // PostgreSQL backends of the round's database, per checkout
}

func (f checkoutFigures) String() string {
	return fmt.Sprintf("%6.1f checkouts/s, p50 %6.1f ms, p99 %6.1f ms, CPU/checkout %5.1f ms (NATS %4.1f ms), PostgreSQL %5.1f ms, p99 at half rate %6.1f ms",
		f.rate, ms(f.p50), ms(f.p99), ms(f.cpu), ms(f.nats), ms(f.postgres), ms(f.pacedP99))
}

// medianFigures takes each figure's median over the rounds.
func medianFigures(rounds []checkoutFigures) checkoutFigures {
	pick := func(get func(checkoutFigures) time.Duration) time.Duration {
		ds := make([]time.Duration, len(rounds))
		for i, r := range rounds {
			ds[i] = get(r)
		}
		return benchtest.Median(ds)
	}
	rates := make([]float64, len(rounds))
	for i, r := range rounds {
		rates[i] = r.rate
	}
	return checkoutFigures{
		rate:     benchtest.Median(rates),
		p50:      pick(func(f checkoutFigures) time.Duration { return f.p50 }),
		p99:      pick(func(f checkoutFigures) time.Duration { return f.p99 }),
		cpu:      pick(func(f checkoutFigures) time.Duration { return f.cpu }),
		nats:     pick(func(f checkoutFigures) time.Duration { return f.nats }),
		postgres: pick(func(f checkoutFigures) time.Duration { return f.postgres }),
		pacedP99: pick(func(f checkoutFigures) time.Duration { return f.pacedP99 }),
	}
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchTopology runs one round on tp: the topology on a fresh database
// (with a NATS server of its own when it has several processes), the
// customers and products, the warm-up and the measured window.
func benchTopology(b *testing.B, bin string, tp topology.Topology) checkoutFigures {
	b.Helper()
	dbURL := dbtest.NewURL(b)
	release, err := holdConns(topologyConns(tp))
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	var nats *natsProcess
	if tp.Distributed() {
		// The server shares the cores with the topology's processes.
		nats = startNATSProcess(b, topology.SharedProcs(len(tp.Groups)+1))
		defer nats.stop(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prof := newProfiler(os.Getenv(profileDirEnv))
	o := topology.Options{Binary: bin, DatabaseURL: dbURL, Env: shopEnv(dbURL, append(benchShopEnv, prof.env()...)...), OnLine: prof.note,
		ProcessEnv: func(g topology.Group) []string { return []string{fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", groupConns(g))} }}
	if nats != nil {
		o.NATSURL = nats.url
	}
	c, err := topology.Start(ctx, tp, o)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			b.Error(err)
		}
	}()

	load := prepareCheckout(b, c.Front().URL(), adminEmail, adminPassword, topologyShoppers)
	watch := watchConfirmations(b, dbURL)
	load.await = watch.await
	if warm, _ := load.closedLoop(b, topologyShoppers, topologyWarmUp); warm.failures > 0 {
		b.Fatalf("%s: %d checkouts of the warm-up not confirmed", tp.Name, warm.failures)
	}
	var pids []int
	for _, p := range c.Processes() {
		pids = append(pids, p.PID())
	}
	watch.resetCPU(b)
	cpu0 := cpuOf(b, pids...)
	nats0 := nats.cpu(b)
	pg0 := backendsCPU(b, dbURL)
	profiled := prof.start(b, tp.Name, topologyWindow)
	run, elapsed := load.closedLoop(b, topologyShoppers, topologyWindow)
	profiled()
	cpu := cpuOf(b, pids...) - cpu0
	natsCPU := nats.cpu(b) - nats0
	pg := backendsCPU(b, dbURL).since(pg0) - watch.cpu(b)
	if run.failures > 0 || len(run.latencies) == 0 {
		b.Fatalf("%s: %d checkouts confirmed, %d not", tp.Name, len(run.latencies), run.failures)
	}
	n := time.Duration(len(run.latencies))
	rate := run.confirmed() / elapsed.Seconds()
	pacedFrom := time.Now()
	paced := load.paced(b, rate/2, topologyPaced)
	if paced.failures > 0 || len(paced.latencies) == 0 {
		b.Fatalf("%s at half rate: %d checkouts confirmed, %d not", tp.Name, len(paced.latencies), paced.failures)
	}
	b.Logf("%s at half rate, %d checkouts: answered p50 %.1f ms, p99 %.1f ms; then %s", tp.Name, len(paced.latencies),
		ms(quantile(paced.answers, 0.50)), ms(quantile(paced.answers, 0.99)), sagaHops(b, dbURL, pacedFrom))
	return checkoutFigures{
		rate: rate,
		p50:  quantile(run.latencies, 0.50), p99: quantile(run.latencies, 0.99),
		cpu: (cpu + natsCPU) / n, nats: natsCPU / n, postgres: pg / n,
		pacedP99: quantile(paced.latencies, 0.99),
	}
}

// benchShopEnv are the settings of a benchmarked shop beyond a test
// shop's: sign-ups and log-ins are set-up here, not the measured work, so
// their hashing is cheap and not rate-limited.
var benchShopEnv = []string{
	"SHOP_AUTH_ARGON2_MEMORY_KIB=64", "SHOP_AUTH_ARGON2_ITERATIONS=1", "SHOP_AUTH_LOGIN_PER_IP=1000",
}

// sagaHops reads from the timelines of the orders placed since when each
// step came after the one before it, p50 and p99 per step in the order of
// the saga, to show where the time to confirmation goes.
func sagaHops(b *testing.B, dbURL string, since time.Time) string {
	b.Helper()
	var out []string
	queryOwner(b, dbURL, func(conn *pgx.Conn) error {
		rows, err := conn.Query(context.Background(), `SELECT step,
				percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)
			FROM (SELECT seq, step, extract(epoch FROM at - lag(at) OVER (PARTITION BY order_id ORDER BY seq)) * 1000 AS ms
				FROM orders.order_timeline
				WHERE order_id IN (SELECT order_id FROM orders.order_timeline WHERE step = 'placed' AND at >= $1)) hops
			WHERE ms IS NOT NULL GROUP BY step ORDER BY min(seq)`, since)
		if err != nil {
			return err
		}
		var step string
		var p50, p99 float64
		_, err = pgx.ForEachRow(rows, []any{&step, &p50, &p99}, func() error {
			out = append(out, fmt.Sprintf("%s p50 %.1f ms, p99 %.1f ms", step, p50, p99))
			return nil
		})
		if err != nil {
			return err
		}
		// The saga's events, from their publication to the saga's inbox,
		// and from there to handled.
		rows, err = conn.Query(context.Background(), `SELECT type, count(*),
				percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - occurred_at) * 1000),
				percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - occurred_at) * 1000),
				percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM handled_at - received_at) * 1000),
				percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM handled_at - received_at) * 1000)
			FROM orders.event_inbox WHERE status = 'done' AND occurred_at >= $1 GROUP BY type ORDER BY 1`, since)
		if err != nil {
			return err
		}
		var typ string
		var n int
		var h50, h99 float64
		_, err = pgx.ForEachRow(rows, []any{&typ, &n, &p50, &p99, &h50, &h99}, func() error {
			out = append(out, fmt.Sprintf("%s (%d) to the inbox p50 %.1f ms p99 %.1f ms, handled p50 %.1f ms p99 %.1f ms", typ, n, p50, p99, h50, h99))
			return nil
		})
		return err
	})
	return strings.Join(out, "; ")
}

func quantile(d []time.Duration, q float64) time.Duration {
	return time.Duration(quantileMS(d, q) * float64(time.Millisecond))
}

// buildOptimised builds the shop as `make build` does (no -race) for the
// benchmark; the end-to-end tests' binary is built with -race.
func buildOptimised(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "shop")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build shop: %v\n%s", err, out)
	}
	return bin
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, 100 on
// every Linux architecture Go runs on.
const userHZ = 100

// processCPU is the user+sys CPU time process pid has used so far (all its
// threads; not its children's).
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count the fields
	// after its closing one, from field 3 (state).
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, raw)
	}
	fields := strings.Fields(string(raw[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, raw)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime (field 14), stime (field 15)
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuOf sums processCPU over pids.
func cpuOf(b *testing.B, pids ...int) time.Duration {
	b.Helper()
	var sum time.Duration
	for _, pid := range pids {
		d, err := processCPU(pid)
		if err != nil {
			b.Fatal(err)
		}
		sum += d
	}
	return sum
}

// backendCPU is the CPU time of each PostgreSQL backend connected to a
// database, by pid.
type backendCPU map[int]time.Duration

// backendsCPU reads the CPU time of the backends serving the database at
// url (PostgreSQL runs on this machine), other than the one asking.
func backendsCPU(b *testing.B, url string) backendCPU {
	b.Helper()
	var pids []int
	queryOwner(b, url, func(conn *pgx.Conn) error {
		rows, err := conn.Query(context.Background(),
			`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		if err != nil {
			return err
		}
		pids, err = pgx.CollectRows(rows, pgx.RowTo[int])
		return err
	})
	out := backendCPU{}
	for _, pid := range pids {
		if d, err := processCPU(pid); err == nil { // a backend may have ended since
			out[pid] = d
		}
	}
	return out
}

// since is the CPU the backends used after before: all of that of a
// backend started since. A backend that ended in between is missed, which
// the pools' idle time (30 s, longer than a round) makes rare.
func (after backendCPU) since(before backendCPU) time.Duration {
	var sum time.Duration
	for pid, d := range after {
		sum += d - before[pid]
	}
	return sum
}

// natsStoreEnv makes the test binary an embedded NATS server with
// JetStream storing its streams in the folder it names (see TestMain):
// the benchmark runs it in a process of its own to count its CPU.
const natsStoreEnv = "SHOP_BENCH_NATS_STORE"

// serveNATS runs the embedded server on a free loopback port, writes its
// URL on a line of its own, and serves until its standard input closes
// (the benchmark stops it, or ended).
func serveNATS(dir string) int {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: dir, NoLog: true, NoSigs: true, ServerName: "shop-bench"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nats:", err)
		return 1
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		fmt.Fprintln(os.Stderr, "nats: not accepting connections within 10s")
		return 1
	}
	fmt.Println(srv.ClientURL())
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Shutdown()
	srv.WaitForShutdown()
	return 0
}

// natsProcess is the test binary serving NATS.
type natsProcess struct {
	url   string
	cmd   *exec.Cmd
	stdin io.Closer
	done  chan error
}

// startNATSProcess starts the server with GOMAXPROCS procs, its share of
// the cores it shares with the shop's processes.
func startNATSProcess(b *testing.B, procs int) *natsProcess {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), natsStoreEnv+"="+b.TempDir(), fmt.Sprintf("GOMAXPROCS=%d", procs))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &natsProcess{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	url := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		url <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
		p.done <- cmd.Wait()
	}()
	select {
	case p.url = <-url:
	case <-time.After(30 * time.Second):
	}
	if !strings.HasPrefix(p.url, "nats://") {
		p.stop(b)
		b.Fatalf("the NATS process did not say where it listens (%q)", p.url)
	}
	return p
}

// cpu is the CPU time the server has used; none for no server.
func (p *natsProcess) cpu(b *testing.B) time.Duration {
	if p == nil {
		return 0
	}
	return cpuOf(b, p.cmd.Process.Pid)
}

// stop closes the server's input, which stops it, and waits for it to
// exit, killing it after 30 s.
func (p *natsProcess) stop(b *testing.B) {
	_ = p.stdin.Close()
	select {
	case err := <-p.done:
		if err != nil {
			b.Errorf("NATS process: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		b.Error("NATS process did not stop within 30s of its input closing; killed")
		<-p.done
	}
}

// confirmations learns when orders are confirmed from the orders module's
// timeline in the database, for every order awaited at once, every 20 ms,
// on a connection of its own whose PostgreSQL CPU it reports (to be taken
// out of the topology's). Polling each order through the API instead
// would add requests in proportion to the confirmation latency, and so
// make CPU per checkout compound latency.
type confirmations struct {
	mu      sync.Mutex
	waiting map[string]chan time.Time // order → its confirmation (zero: ended otherwise)
	pid     int                       // the connection's backend
	cpu0    time.Duration
}

// watchConfirmations starts the watcher; it stops when the benchmark ends.
func watchConfirmations(b *testing.B, dbURL string) *confirmations {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	connectCtx, connected := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(connectCtx, dbURL)
	connected()
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	w := &confirmations{waiting: map[string]chan time.Time{}, pid: int(conn.PgConn().PID())}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer conn.Close(context.Background())
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				w.poll(ctx, conn)
			}
		}
	}()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return w
}

// poll reads the timelines of the orders awaited and answers those that
// reached confirmation or an end.
func (w *confirmations) poll(ctx context.Context, conn *pgx.Conn) {
	w.mu.Lock()
	ids := make([]string, 0, len(w.waiting))
	for id := range w.waiting {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, `SELECT order_id::text, step, at FROM orders.order_timeline
		WHERE order_id = ANY($1::uuid[]) AND step IN ('confirmed', 'stock_rejected', 'payment_rejected', 'cancelled')`, ids)
	if err != nil {
		return // the next tick asks again; await's deadline bounds the wait
	}
	defer rows.Close()
	for rows.Next() {
		var id, step string
		var at time.Time
		if rows.Scan(&id, &step, &at) != nil {
			return
		}
		if step != "confirmed" {
			at = time.Time{}
		}
		w.mu.Lock()
		if ch, ok := w.waiting[id]; ok {
			ch <- at
			delete(w.waiting, id)
		}
		w.mu.Unlock()
	}
}

// await waits up to a minute for the order's confirmation.
func (w *confirmations) await(b *testing.B, _, order string) (time.Time, bool) {
	ch := make(chan time.Time, 1)
	w.mu.Lock()
	w.waiting[order] = ch
	w.mu.Unlock()
	select {
	case at := <-ch:
		return at, !at.IsZero()
	case <-time.After(time.Minute):
		w.mu.Lock()
		delete(w.waiting, order)
		w.mu.Unlock()
		return time.Time{}, false
	}
}

// resetCPU starts counting the watcher's PostgreSQL CPU from now; cpu is
// what it used since.
func (w *confirmations) resetCPU(b *testing.B) { w.cpu0 = cpuOf(b, w.pid) }

func (w *confirmations) cpu(b *testing.B) time.Duration { return cpuOf(b, w.pid) - w.cpu0 }

// profileDirEnv names a folder where the benchmark writes a CPU profile of
// every process of every round over its measured window
// (<topology>-<process>.pprof, for go tool pprof), taken from the
// process's operators' listener (/debug/pprof/profile); unset, none.
const profileDirEnv = "SHOP_BENCH_PROFILE_DIR"

// profiler collects the processes' operators' addresses from their log
// lines, and their CPU profiles.
type profiler struct {
	dir string
	mu  sync.Mutex
	ops map[string]string // process → operators' listener
}

func newProfiler(dir string) *profiler { return &profiler{dir: dir, ops: map[string]string{}} }

// env opens an operators' listener in every process when profiling.
func (p *profiler) env() []string {
	if p.dir == "" {
		return nil
	}
	return []string{"SHOP_HTTP_OPS_ADDR=127.0.0.1:0"}
}

// note is the topology's OnLine: it keeps where each process's operators'
// listener listens.
func (p *profiler) note(process, line string) {
	var rec struct{ Msg, Addr string }
	if p.dir == "" || json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "ops server listening" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ops[process] = rec.Addr
}

// start profiles every process for d; the function returned waits until
// the profiles are written.
func (p *profiler) start(b *testing.B, topo string, d time.Duration) (wait func()) {
	var wg sync.WaitGroup
	p.mu.Lock()
	defer p.mu.Unlock()
	for process, addr := range p.ops {
		wg.Go(func() {
			if err := p.profile(topo+"-"+process, addr, d); err != nil {
				b.Errorf("profile %s: %v", process, err)
			}
		})
	}
	return wg.Wait
}

func (p *profiler) profile(name, addr string, d time.Duration) error {
	client := &http.Client{Timeout: d + 30*time.Second}
	resp, err := client.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	f, err := os.Create(filepath.Join(p.dir, name+".pprof"))
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, f.Close())
}
