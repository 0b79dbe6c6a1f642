package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/topology"
)

// `serve --seed-demo` given to every process of a split shop: catalog alone
// in one process, the rest (inventory among them) in another. The process
// hosting catalog seeds the demo catalog; the one hosting inventory stocks
// the catalog's products, listed through catalog's API in the other
// process. The rest starts first and waits for catalog, which is ready only
// once seeded. Started again, both change nothing: the demo is seeded once.
func TestSplitServeSeedDemo(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewURL(t)
	internal, restInternal := freeAddr(t), freeAddr(t)
	catalogEnv := shopEnv(dbURL, "SHOP_MODULES=catalog", "SHOP_HTTP_INTERNAL_ADDR="+internal, "SHOP_MODULE_URLS=identity=http://"+restInternal,
		fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", database.OwnerConns+database.ListenConns+3))
	restEnv := shopEnv(dbURL, "SHOP_MODULES=identity,inventory,cart,payments,orders,notifications,reporting",
		"SHOP_MODULE_URLS=catalog=http://"+internal, "SHOP_HTTP_INTERNAL_ADDR="+restInternal, "SHOP_MODULE_READY_TIMEOUT=60s",
		fmt.Sprintf("SHOP_DB_MAX_CONNS=%d", database.OwnerConns+database.ListenConns+7*3))
	// Both processes' connections, taken before either starts: the rest
	// waits for catalog only SHOP_MODULE_READY_TIMEOUT, not for the budget.
	dbtest.Reserve(t, connBudget(t, restEnv)+connBudget(t, catalogEnv))
	for round := 1; round <= 2; round++ {
		rest := serveInProcess(t, restEnv, "serve", "--seed-demo")
		catalog := serveInProcess(t, catalogEnv, "serve", "--seed-demo")
		restAddr := rest.listening(t)
		catalog.listening(t)

		products, deals, created, stocked, stockEvents := demoCounts(t, dbURL)
		if products != demoProducts || deals != 2 || created != demoProducts {
			t.Errorf("round %d: %d demo products (%d announced), %d deals; want %d products announced once, 2 deals",
				round, products, created, deals, demoProducts)
		}
		if stocked != demoProducts || stockEvents != demoProducts {
			t.Errorf("round %d: %d products with %d units on hand, %d stock changes; want %d, each once",
				round, stocked, demoStock, stockEvents, demoProducts)
		}
		s := &shop{t: t, base: "http://" + restAddr, partial: true}
		if n := s.remoteCalls("inventory", "catalog", "ok"); n == 0 {
			t.Errorf("round %d: inventory made no call to catalog: it did not learn the products from catalog's process", round)
		}
		rest.stop(t)
		catalog.stop(t)
	}
}

// demoCounts counts the demo catalog's products, its deals and the
// products' creation events, and the products stocked with the demo's
// units and their stock changes.
func demoCounts(t *testing.T, url string) (products, deals, created, stocked, stockEvents int) {
	t.Helper()
	queryOwner(t, url, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM catalog.products WHERE sku LIKE 'DEMO-%'),
			(SELECT count(*) FROM catalog.deals),
			(SELECT count(*) FROM catalog.event_outbox WHERE type = 'catalog.product_created.v1'),
			(SELECT count(*) FROM inventory.stock s JOIN catalog.products p ON p.id = s.product_id
				WHERE p.sku LIKE 'DEMO-%' AND s.on_hand = $1 AND s.reserved = 0),
			(SELECT count(*) FROM inventory.event_outbox WHERE type = 'inventory.stock_changed.v1')`, demoStock).
			Scan(&products, &deals, &created, &stocked, &stockEvents)
	})
	return
}

// freeAddr returns a loopback address no one listens on (as far as the
// kernel knows), for a process that must be named before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := topology.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// inProcess is a shop command run by realMain inside the test's process,
// on env alone.
type inProcess struct {
	logs   *lockedBuffer
	listen <-chan string // the first "http server listening" line
	cancel context.CancelFunc
	done   chan error
}

// serveInProcess runs a shop command inside the test's process; the test
// has reserved its connections (dbtest.Reserve).
func serveInProcess(t *testing.T, env []string, args ...string) *inProcess {
	t.Helper()
	feed := &lineFeed{}
	p := &inProcess{logs: &lockedBuffer{}, done: make(chan error, 1),
		listen: feed.await(func(line string) bool { return strings.Contains(line, `"msg":"http server listening"`) })}
	var ctx context.Context
	ctx, p.cancel = context.WithCancel(context.Background())
	go func() {
		p.done <- realMain(ctx, args, io.Discard, feedWriter{p.logs, feed}, mapEnv(env...))
	}()
	t.Cleanup(func() {
		p.cancel()
		<-p.done
		if t.Failed() {
			t.Logf("%s logs:\n%s", strings.Join(args, " "), p.logs.String())
		}
	})
	return p
}

// listening waits until the command serves, and returns its address.
func (p *inProcess) listening(t *testing.T) string {
	t.Helper()
	select {
	case line := <-p.listen:
		var rec struct {
			Addr string `json:"addr"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		return rec.Addr
	case err := <-p.done:
		p.done <- err
		t.Fatalf("exited before serving: %v\n%s", err, p.logs.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("not serving within 90s:\n%s", p.logs.String())
	}
	return ""
}

// stop ends the command as SIGTERM would, and waits for a clean exit.
func (p *inProcess) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not exit within 30s")
	}
}

// feedWriter writes logs to a buffer and each line to a feed (the logger
// writes one whole line per call).
type feedWriter struct {
	logs *lockedBuffer
	feed *lineFeed
}

func (w feedWriter) Write(p []byte) (int, error) {
	n, err := w.logs.Write(p)
	for line := range strings.Lines(string(p)) {
		w.feed.publish(strings.TrimSuffix(line, "\n"))
	}
	return n, err
}
