package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"

	"github.com/shopmonolith/shop/modules/catalog"
)

// demoProducts is how many products `serve --seed-demo` loads.
const demoProducts = 60

func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer, lookup Env) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("products", demoProducts, "how many demo products")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *n < 0 || *n > 10_000_000 {
		return usageError{"--products must be between 0 and 10000000"}
	}
	_, app, closeApp, err := composeApp(ctx, lookup, stderr)
	if err != nil {
		return err
	}
	defer closeApp()
	var progress func(int)
	if *n >= 5000 {
		bar := progressbar.NewOptions(*n, progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("seeding products"), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100_000_000), progressbar.OptionClearOnFinish())
		progress = func(done int) { _ = bar.Set(done) }
		defer bar.Finish()
	}
	if err := app.Catalog.Seed(ctx, *n, progress); err != nil {
		return err
	}
	stocked, err := seedStock(ctx, app)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "seeded %d demo products, %d of them with stock\n", *n, stocked)
	return err
}

// Demo stock: the first products of the catalog get demoStock units each,
// unless they have a stock level already.
const (
	demoStock         = 25
	demoStockProducts = 1000
)

// seedStock gives the first demo products stock, page by page through the
// catalog's public API, as any other module would learn of products.
func seedStock(ctx context.Context, app *App) (int, error) {
	var ids []string
	q := catalog.ProductQuery{Limit: 100}
	for len(ids) < demoStockProducts {
		page, err := app.Catalog.API().ListProducts(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("list products to stock: %w", err)
		}
		for _, p := range page.Items {
			ids = append(ids, p.ID)
		}
		if page.NextCursor == "" {
			break
		}
		q.After = page.NextCursor
	}
	ids = ids[:min(len(ids), demoStockProducts)]
	if len(ids) == 0 {
		return 0, nil
	}
	return len(ids), app.Inventory.SeedStock(ctx, ids, demoStock)
}
