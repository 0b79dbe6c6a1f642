package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, lookup Env) error {
	begin := time.Now()
	c := newCommand("serve", "shop [serve] [--seed-demo]",
		"Runs the shop: the modules this process hosts (SHOP_MODULES; default every one), the event pipeline\nand the HTTP edge, until SIGINT or SIGTERM. Settings come from the environment (shop config lists them).")
	seedDemo := c.flags.Bool("seed-demo", false, "add the demo catalog's categories, products and deals that are missing (where catalog\nis hosted), and stock for its first products (where inventory is)")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.flags.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", c.flags.Args())}
	}
	checked, err := serveSettings(lookup)
	if err != nil {
		return err
	}
	if err := awaitRemotes(ctx, checked.place, checked.cfg.Topology.ReadyTimeout); err != nil {
		return err
	}
	e, app, closeApp, err := composeApp(ctx, lookup, stderr, "serve")
	if err != nil {
		return err
	}
	defer closeApp()
	for _, w := range e.cfg.Warnings() {
		e.log.Warn(w)
	}
	// The process that hosts identity creates the first admin.
	if b := e.cfg.Bootstrap; b.AdminEmail != "" && app.Identity != nil {
		created, err := app.Identity.API().EnsureAdmin(ctx, b.AdminEmail, b.AdminPassword)
		if err != nil {
			return fmt.Errorf("bootstrap admin: %w", err)
		}
		if created {
			e.log.Info("bootstrap admin created", slog.String("email", b.AdminEmail))
		}
	}
	if *seedDemo {
		if err := seedDemoData(ctx, e.log, app); err != nil {
			return err
		}
	}
	run := time.Now()
	return app.Kernel.Run(ctx, func(net.Addr) {
		// What the start took, step by step (see composeApp), for operators
		// and the start-up benchmark: "start" is the modules' and workers'
		// Start and the listener.
		e.log.Info("started", append([]any{slog.Duration("elapsed", time.Since(begin))},
			append(e.took, slog.Duration("start", time.Since(run)))...)...)
	})
}

// serveSettings makes every check of the settings that serve makes before
// it reaches anything outside the process: the configuration, the
// topology, the connection budget and the credentials of a split process.
func serveSettings(lookup Env) (env, error) {
	e, err := settings(lookup)
	if err != nil {
		return e, err
	}
	if err := errors.Join(e.checkServeBudget(), e.checkServeCredentials()); err != nil {
		return e, err
	}
	if err := e.place.checkServe(); err != nil {
		return e, fmt.Errorf("configuration: %w", err)
	}
	return e, nil
}

// seedDemoData seeds what this process hosts: the demo catalog where
// catalog runs, stock for the catalog's first products where inventory
// runs. Split across processes, each started with --seed-demo, the demo is
// seeded once: both steps add only what is missing. A process that stocks
// products of a catalog hosted elsewhere has waited for it to be ready
// (awaitRemotes), which it is only once its own seeding is done.
func seedDemoData(ctx context.Context, log *slog.Logger, app *App) error {
	if app.Catalog == nil && app.Inventory == nil {
		log.Info("serve --seed-demo: nothing to seed here: this process hosts neither catalog nor inventory")
		return nil
	}
	if app.Catalog != nil {
		if err := app.Catalog.Seed(ctx, demoProducts, nil); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
	}
	if app.Inventory != nil {
		if _, err := seedStock(ctx, app); err != nil {
			return fmt.Errorf("seed demo stock: %w", err)
		}
	}
	return nil
}
