package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"
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
	_, err = fmt.Fprintf(stdout, "seeded %d demo products\n", *n)
	return err
}
