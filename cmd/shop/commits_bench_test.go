package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/platform/benchtest"
)

// The checkout goals, measured against the database's own commit rate in
// the same run.
const (
	ceilingClients  = 8               // as pgbench -c 8 -N
	ceilingWindow   = 5 * time.Second // per measurement
	goalOfCeiling   = 0.1             // checkouts/s at least this share of the ceiling's commits/s
	goalPacedP99    = 100 * time.Millisecond
	checkoutWarmUp  = 3 * time.Second
	checkoutShopper = 48 // closed loop: as many checkouts at once
)

// commitCeiling measures what the PostgreSQL server at url commits on its
// own: ceilingClients connections, each committing single-row UPDATEs of a
// row of its own (autocommit, synchronous_commit as the server has it) back
// to back for ceilingWindow, on a table of the database at url. It returns
// commits per second.
func commitCeiling(b *testing.B, url string) float64 {
	b.Helper()
	release, err := holdConns(ceilingClients + 1)
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	queryOwner(b, url, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS public.bench_ceiling (id int PRIMARY KEY, n bigint NOT NULL);
			INSERT INTO public.bench_ceiling SELECT g, 0 FROM generate_series(1, 64) g ON CONFLICT DO NOTHING`)
		return err
	})
	conns := make([]*pgx.Conn, ceilingClients)
	for i := range conns {
		if conns[i], err = pgx.Connect(ctx, url); err != nil {
			b.Fatal(err)
		}
		defer conns[i].Close(context.Background())
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		commits int
		failed  error
	)
	start := time.Now()
	deadline := start.Add(ceilingWindow)
	for i, conn := range conns {
		wg.Go(func() {
			n := 0
			for time.Now().Before(deadline) {
				if _, err := conn.Exec(ctx, `UPDATE public.bench_ceiling SET n = n + 1 WHERE id = $1`, i+1); err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				n++
			}
			mu.Lock()
			commits += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
	return float64(commits) / time.Since(start).Seconds()
}

// dbCounters are PostgreSQL's counters of a database at one moment:
// transactions committed in it (read-only ones too: every statement outside
// a transaction is one), and WAL written and flushed by the whole server
// (other databases' work included).
type dbCounters struct {
	commits, walWrites, walSyncs int64
}

func readCounters(b *testing.B, url string) dbCounters {
	b.Helper()
	var c dbCounters
	queryOwner(b, url, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT
			(SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), wal_write, wal_sync FROM pg_stat_wal`).
			Scan(&c.commits, &c.walWrites, &c.walSyncs)
	})
	return c
}

// per is the change from before to c per n checkouts.
func (c dbCounters) per(before dbCounters, n float64) (commits, walWrites, walSyncs float64) {
	// pg_stat_database counts a committing backend's transactions when it
	// reports, at most every 10 s and at idle: read after a phase, a count
	// can lag by the last unreported ones, which averages out over thousands.
	return float64(c.commits-before.commits) / n, float64(c.walWrites-before.walWrites) / n, float64(c.walSyncs-before.walSyncs) / n
}

// writeTransactions lists the transactions that wrote to the database at url
// while run ran and the event pipeline then came to rest, from the WAL
// (pg_walinspect): each transaction's commit with the tables it wrote and
// how (INSERT, UPDATE, …), grouped by that signature and counted per
// checkout (n checkouts). Read-only transactions write no commit record and
// do not appear; whether a commit waited for its WAL flush is not in the WAL
// (the pipeline's relay commits asynchronously). Other databases on the
// server write WAL meanwhile; their records are told apart by the database
// each block belongs to.
func writeTransactions(b *testing.B, w io.Writer, url string, n int, run func()) {
	b.Helper()
	ctx := context.Background()
	var (
		dbOID    uint32
		lsn0     string
		inboxes  []string
		outboxes []string
	)
	queryOwner(b, url, func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_walinspect`); err != nil {
			return err
		}
		rows, err := conn.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
			WHERE table_name IN ('event_inbox', 'event_outbox') ORDER BY 1`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var schema, table string
			if err := rows.Scan(&schema, &table); err != nil {
				return err
			}
			if table == "event_inbox" {
				inboxes = append(inboxes, schema)
			} else {
				outboxes = append(outboxes, schema)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return conn.QueryRow(ctx, `SELECT oid, pg_current_wal_lsn()::text FROM pg_database WHERE datname = current_database()`).Scan(&dbOID, &lsn0)
	})
	run()
	// The pipeline is at rest when nothing waits to be relayed or handled.
	var parts []string
	for _, s := range outboxes {
		parts = append(parts, fmt.Sprintf(`(SELECT count(*) FROM %s.event_outbox WHERE forwarded_at IS NULL)`, pgx.Identifier{s}.Sanitize()))
	}
	for _, s := range inboxes {
		parts = append(parts, fmt.Sprintf(`(SELECT count(*) FROM %s.event_inbox WHERE status = 'pending')`, pgx.Identifier{s}.Sanitize()))
	}
	rest := `SELECT ` + strings.Join(parts, " + ")
	for i := 0; ; i++ {
		var waiting int
		queryOwner(b, url, func(conn *pgx.Conn) error { return conn.QueryRow(ctx, rest).Scan(&waiting) })
		if waiting == 0 {
			break
		}
		if i == 600 {
			b.Fatalf("the event pipeline still had %d events waiting after a minute", waiting)
		}
		time.Sleep(100 * time.Millisecond) // polling a state the shop reaches on its own
	}
	type record struct {
		xid             uint32
		rmgr, typ, desc string
		blocks          string
	}
	var recs []record
	names := map[uint32]string{} // relfilenode → table
	queryOwner(b, url, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT xid::text::bigint, resource_manager, record_type, description, coalesce(block_ref, '')
			FROM pg_get_wal_records_info($1::pg_lsn, pg_current_wal_lsn())`, lsn0)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r record
			var xid int64
			if err := rows.Scan(&xid, &r.rmgr, &r.typ, &r.desc, &r.blocks); err != nil {
				return err
			}
			r.xid = uint32(xid)
			recs = append(recs, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// Indexes are named for their table.
		rows, err = conn.Query(ctx, `SELECT c.relfilenode, n.nspname || '.' || coalesce(t.relname, c.relname)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			LEFT JOIN pg_index i ON i.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = i.indrelid
			WHERE c.relfilenode <> 0`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var node uint32
			var name string
			if err := rows.Scan(&node, &name); err != nil {
				return err
			}
			names[node] = name
		}
		return rows.Err()
	})
	blockRef := regexp.MustCompile(`rel \d+/(\d+)/(\d+)`)
	subxacts := regexp.MustCompile(`subxacts: ([\d ]+)`)
	writes := map[uint32]map[string]bool{} // xid → "table op"
	var commits []record
	for _, r := range recs {
		if r.rmgr == "Transaction" && strings.HasPrefix(r.typ, "COMMIT") {
			commits = append(commits, r)
			continue
		}
		if r.rmgr != "Heap" && r.rmgr != "Heap2" {
			continue // index records follow their heap's
		}
		for _, m := range blockRef.FindAllStringSubmatch(r.blocks, -1) {
			db, _ := strconv.ParseUint(m[1], 10, 32)
			node, _ := strconv.ParseUint(m[2], 10, 32)
			if uint32(db) != dbOID || r.xid == 0 {
				continue
			}
			name, ok := names[uint32(node)]
			if !ok {
				name = "relfilenode " + m[2]
			}
			if writes[r.xid] == nil {
				writes[r.xid] = map[string]bool{}
			}
			writes[r.xid][name+" "+strings.TrimSuffix(strings.Fields(r.typ)[0], "+INIT")] = true
		}
	}
	count := map[string]int{}
	for _, c := range commits {
		ws := map[string]bool{}
		xids := []uint32{c.xid}
		if m := subxacts.FindStringSubmatch(c.desc); m != nil {
			for _, f := range strings.Fields(m[1]) {
				x, _ := strconv.ParseUint(f, 10, 32)
				xids = append(xids, uint32(x))
			}
		}
		for _, x := range xids {
			for k := range writes[x] {
				ws[k] = true
			}
		}
		if len(ws) == 0 {
			continue // another database's, or no heap write
		}
		sig := make([]string, 0, len(ws))
		for k := range ws {
			sig = append(sig, k)
		}
		slices.Sort(sig)
		count[strings.Join(sig, ", ")]++
	}
	type line struct {
		sig string
		n   int
	}
	var lines []line
	total := 0
	for sig, k := range count {
		lines = append(lines, line{sig, k})
		total += k
	}
	slices.SortFunc(lines, func(a, b line) int { return strings.Compare(a.sig, b.sig) })
	fmt.Fprintf(w, "info | writing transactions per checkout (WAL commit records, %d checkouts one at a time) | %.2f in all\n", n, float64(total)/float64(n))
	for _, l := range lines {
		fmt.Fprintf(w, "info |   %.2f | %s\n", float64(l.n)/float64(n), l.sig)
	}
}

// checkoutGoals writes the goal lines of a topology's checkouts: saturated
// throughput against the server's commit ceiling, and p99 at half that rate.
func checkoutGoals(w io.Writer, name string, rate, ceiling float64, pacedP99 time.Duration, pacedRate float64) {
	benchtest.Goal(w, name+" checkouts/s ÷ PostgreSQL single-row commits/s (same run)", ">=", goalOfCeiling, rate/ceiling,
		fmt.Sprintf("%.1f checkouts/s / %.0f commits/s with %d clients", rate, ceiling, ceilingClients))
	benchtest.Goal(w, name+" p99 checkout→confirmed at half the saturated rate, ÷ 100 ms", "<=", 1, ratio(pacedP99, goalPacedP99),
		fmt.Sprintf("%.1f ms at %.1f checkouts/s", ms(pacedP99), pacedRate))
}

// paced has checkouts arrive at rate per second for d, each on a free
// customer, whether or not earlier ones are done (an open loop).
func (l *checkoutLoad) paced(b *testing.B, rate float64, d time.Duration) *checkoutRun {
	run := &checkoutRun{}
	free := make(chan string, len(l.tokens))
	for _, tk := range l.tokens {
		free <- tk
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for n := 0; time.Now().Before(deadline); n++ {
		<-tick.C
		token := <-free
		wg.Go(func() {
			defer func() { free <- token }()
			run.add(l.buy(b, token, l.products[n%len(l.products)]))
		})
	}
	wg.Wait()
	return run
}
