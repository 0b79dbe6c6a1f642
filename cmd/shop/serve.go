package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
)

func runServe(ctx context.Context, args []string, stderr io.Writer, lookup Env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	seedDemo := fs.Bool("seed-demo", false, "add the demo catalog's categories, products and deals that are missing")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	e, app, closeApp, err := composeApp(ctx, lookup, stderr)
	if err != nil {
		return err
	}
	defer closeApp()
	if b := e.cfg.Bootstrap; b.AdminEmail != "" {
		created, err := app.Identity.API().EnsureAdmin(ctx, b.AdminEmail, b.AdminPassword)
		if err != nil {
			return fmt.Errorf("bootstrap admin: %w", err)
		}
		if created {
			e.log.Info("bootstrap admin created", slog.String("email", b.AdminEmail))
		}
	}
	if *seedDemo {
		if err := app.Catalog.Seed(ctx, demoProducts, nil); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
		if _, err := seedStock(ctx, app); err != nil {
			return fmt.Errorf("seed demo stock: %w", err)
		}
	}
	return app.Kernel.Run(ctx, nil)
}
