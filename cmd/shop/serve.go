package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, lookup Env) error {
	c := newCommand("serve", "shop [serve] [--seed-demo]",
		"Runs the shop: the modules this process hosts (SHOP_MODULES; default every one), the event pipeline\nand the HTTP edge, until SIGINT or SIGTERM. Settings come from the environment (shop config lists them).")
	seedDemo := c.flags.Bool("seed-demo", false, "add the demo catalog's categories, products and deals that are missing")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.flags.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", c.flags.Args())}
	}
	if e, err := settings(lookup); err == nil {
		if err := errors.Join(e.checkServeBudget(), e.checkServeCredentials()); err != nil {
			return err
		}
		if err := e.place.checkServe(); err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		if *seedDemo {
			if err := e.place.need("serve --seed-demo", "catalog", "inventory"); err != nil {
				return err
			}
		}
		if err := awaitRemotes(ctx, e.place, e.cfg.Topology.ReadyTimeout); err != nil {
			return err
		}
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
		if err := app.Catalog.Seed(ctx, demoProducts, nil); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
		if _, err := seedStock(ctx, app); err != nil {
			return fmt.Errorf("seed demo stock: %w", err)
		}
	}
	return app.Kernel.Run(ctx, nil)
}
