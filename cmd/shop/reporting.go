package main

import (
	"context"
	"fmt"
	"io"
	"slices"
)

// runReporting runs the reporting commands: rebuild recomputes the sales
// figures from the reporting module's own journal of order events.
func runReporting(ctx context.Context, args []string, stdout, stderr io.Writer, lookup Env) error {
	c := newCommand("reporting", "shop reporting rebuild",
		"Recomputes every sales figure from the reporting module's own journal of order events.")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if args = c.flags.Args(); slices.ContainsFunc(args, isHelp) {
		return c.help(stdout)
	}
	if len(args) != 1 || args[0] != "rebuild" {
		return usageError{"use: shop reporting rebuild"}
	}
	_, app, closeApp, err := composeApp(ctx, lookup, stderr, "reporting rebuild", "reporting")
	if err != nil {
		return err
	}
	defer closeApp()
	n, err := app.Reporting.Rebuild(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "rebuilt the sales figures from %d journalled events\n", n)
	return err
}
