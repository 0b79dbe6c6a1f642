package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// demoProducts is how many products `serve --seed-demo` loads.
const demoProducts = 60

func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer, lookup Env) error {
	c := newCommand("seed", "shop seed [--products N]",
		"Loads demo data: categories, N products with deals, and stock for the first 1,000 products.\nProducts already there are kept.")
	n := c.flags.Int("products", demoProducts, "how many demo products (0..10000000)")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.flags.NArg() > 0 {
		return usageError{fmt.Sprintf("seed takes no arguments, got %q", c.flags.Args())}
	}
	if *n < 0 || *n > 10_000_000 {
		return usageError{"--products must be between 0 and 10000000"}
	}
	// The bar is drawn from a timer's goroutine while the modules log.
	stderr = &lockedWriter{w: stderr}
	_, app, closeApp, err := composeApp(ctx, lookup, stderr, "seed", "catalog", "inventory")
	if err != nil {
		return err
	}
	defer closeApp()
	bar := startProgress(stderr, *n, time.Second)
	err = app.Catalog.Seed(ctx, *n, bar.set)
	bar.finish()
	if err != nil {
		return err
	}
	stocked, err := seedStock(ctx, app)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "seeded %d demo products, %d of them with stock\n", *n, stocked)
	return err
}

// lockedWriter lets several goroutines write to w, one write at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// progress shows a bar for a run that lasts longer than a moment; a quick
// run prints nothing.
type progress struct {
	w     io.Writer
	total int
	timer *time.Timer

	mu       sync.Mutex
	done     int
	bar      *progressbar.ProgressBar
	finished bool
}

// startProgress shows the bar once after has passed.
func startProgress(w io.Writer, total int, after time.Duration) *progress {
	p := &progress{w: w, total: total}
	p.timer = time.AfterFunc(after, p.show)
	return p
}

func (p *progress) show() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished || p.bar != nil {
		return
	}
	p.bar = progressbar.NewOptions(p.total, progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("seeding products"), progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true))
	_ = p.bar.Set(p.done)
}

func (p *progress) set(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	if p.bar != nil {
		_ = p.bar.Set(done)
	}
}

func (p *progress) finish() {
	p.timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished = true
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// Demo stock: the first products of the catalog get demoStock units each,
// unless they have a stock level already.
const (
	demoStock         = 25
	demoStockProducts = 1000
)

// seedStock gives the first demo products stock, through the catalog's
// public API as inventory reaches it: hosted here, or remotely.
func seedStock(ctx context.Context, app *App) (int, error) {
	return app.Inventory.StockCatalog(ctx, app.InventoryCatalog, demoStockProducts, demoStock)
}
