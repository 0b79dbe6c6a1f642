package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/migrate"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, lookup Env) error {
	c := newCommand("migrate", "shop migrate up|down|status [module]",
		"up applies every pending migration (of one module, or of every module this process hosts:\nSHOP_MODULES), down reverts one step of one module, status shows each module's version. With the\nowner's DATABASE_URL each also provisions the module's role and schema: the role and password of\nthe module's SHOP_DB_<MODULE>_URL, or a password derived from SHOP_DB_ROLE_SECRET without one.\nThis is the operator's step that lets processes serve on their modules' own URLs alone.")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if args = c.flags.Args(); slices.ContainsFunc(args, isHelp) {
		return c.help(stdout)
	}
	if len(args) == 0 || len(args) > 2 {
		return usageError{"migrate needs up, down or status, and optionally a module"}
	}
	action := args[0]
	g, err := kernel.NewGraph(descriptors()...)
	if err != nil {
		return err
	}
	if len(args) == 2 && !g.Has(args[1]) {
		return usageError{fmt.Sprintf("unknown module %q", args[1])}
	}
	switch action {
	case "up", "status":
	case "down":
		if len(args) != 2 {
			return usageError{"migrate down reverts one step of one module: name the module"}
		}
	default:
		return usageError{fmt.Sprintf("unknown migrate action %q", action)}
	}
	e, err := load(lookup, stderr)
	if err != nil {
		return err
	}
	// This process holds the database credentials of its own modules only.
	mods := e.modules
	if len(args) == 2 {
		if err := e.place.need("migrate", args[1]); err != nil {
			return err
		}
		mods = []string{args[1]}
	}
	dbs, closeDB, err := e.openDatabases(ctx, false)
	if err != nil {
		return err
	}
	defer closeDB()

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tVERSION\tLATEST\tSTATE")
	for _, m := range mods {
		db, err := dbs.Open(ctx, m)
		if err != nil {
			return err
		}
		src, err := dbs.Migrations(m)
		if err != nil {
			return err
		}
		switch action {
		case "up":
			err = migrate.Up(ctx, db, src)
		case "down":
			err = migrate.Down(db, src)
		}
		if err != nil {
			return err
		}
		st, err := migrate.State(db, src)
		if err != nil {
			return err
		}
		state := "up to date"
		switch {
		case st.Dirty:
			state = "DIRTY: fix by hand, then force the version"
		case st.Version < st.Latest:
			state = "pending"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", m, st.Version, st.Latest, state)
	}
	return tw.Flush()
}
