package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shopmonolith/shop/migrations"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/dbmove"
	"github.com/shopmonolith/shop/platform/kernel"
)

const dbSynopsis = "shop db move MODULE --to URL [--replace] [--wait D]"

// runDB runs the database commands: move copies a module's schema to
// another database (see platform/dbmove).
func runDB(ctx context.Context, args []string, stdout, stderr io.Writer, lookup Env) error {
	c := newCommand("db", dbSynopsis,
		"move copies MODULE's schema to the database of URL: its tables, their rows (its event outbox and\n"+
			"inbox too), its sequences, its migration state and its role (the login of SHOP_DB_<MODULE>_URL, or the\n"+
			"role DATABASE_URL derives), from one snapshot, checking each table's row count and checksum on both\n"+
			"sides. Stop every process hosting MODULE first: the move refuses while the module's role has sessions\n"+
			"on the source, and when done revokes the role's privileges on the source schema, which keeps its\n"+
			"rows for a way back, so that nothing writes there again. It prints the setting to start MODULE's\n"+
			"processes with (it holds the role's password).\n"+
			"URL is the owner of the target database, which can create the module's role and schema there.")
	to := c.flags.String("to", "", "the target database's owner URL (postgres://…)")
	replace := c.flags.Bool("replace", false, "drop the rows the target database holds in the module's schema, instead of refusing")
	wait := c.flags.Duration("wait", 10*time.Second, "how long the sessions of a module's process that has just stopped may take to end")
	positional, err := c.parseInterspersed(args, stdout)
	if err != nil {
		return err
	}
	if len(positional) == 0 || positional[0] != "move" {
		return usageError{"db needs move (use: " + dbSynopsis + ")"}
	}
	if len(positional) != 2 {
		return usageError{"db move needs one module (use: " + dbSynopsis + ")"}
	}
	module := positional[1]
	g, err := kernel.NewGraph(descriptors()...)
	if err != nil {
		return err
	}
	if !g.Has(module) {
		return usageError{fmt.Sprintf("unknown module %q", module)}
	}
	if *to == "" {
		return usageError{"db move needs --to, the target database's owner URL"}
	}
	if *wait < 0 {
		return usageError{"--wait must not be negative"}
	}
	e, err := load(lookup, stderr)
	if err != nil {
		return err
	}
	if err := e.place.need("db move", module); err != nil {
		return err
	}
	source, err := moduleLogin(e.cfg.DB, module)
	if err != nil {
		return err
	}
	src, err := fs.Sub(migrations.FS, module)
	if err != nil {
		return err
	}
	r, err := dbmove.Move(ctx, dbmove.Plan{Module: module, Source: source, Target: *to, Migrations: src,
		Replace: *replace, Wait: *wait, Config: e.cfg.DB, Log: e.log})
	if err != nil {
		return err
	}
	return printMove(stdout, module, r)
}

// moduleLogin is the connection string a module logs in with where it is
// now: its own URL, or the role the owner's URL derives.
func moduleLogin(cfg config.DB, module string) (string, error) {
	if url, ok := cfg.ModuleURLs[module]; ok {
		return url, nil
	}
	if cfg.URL == "" {
		return "", fmt.Errorf("db move needs %s's database: set SHOP_DB_%s_URL, or the owner's DATABASE_URL", module, strings.ToUpper(module))
	}
	role, password := database.RoleLogin(cfg, module)
	return database.WithLogin(cfg.URL, role, password)
}

// printMove reports each table's rows and checksum, the same on both
// sides, and ends with the setting to switch to.
func printMove(w io.Writer, module string, r dbmove.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tCHECKSUM (source = target)")
	for _, t := range r.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", t.Table, t.Rows, t.MD5)
	}
	for _, v := range r.Versions {
		fmt.Fprintf(tw, "%s\tversion %d\t(migrated on the target)\n", v.Table, v.Version)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "moved %s: %d rows in %d tables in %s. The source schema %s keeps its rows, fenced off %s "+
		"(drop it once %s serves from the target; GRANT ALL ON SCHEMA %s TO %s undoes the fence).\n"+
		"start %s's processes with:\n%s\n",
		module, r.Rows, len(r.Tables), r.Took.Round(time.Millisecond), module, r.Role, module, module, r.Role, module, moduleSetting(module, r.TargetURL))
	return err
}

// moduleSetting is the SHOP_DB_<MODULE>_URL line for url.
func moduleSetting(module, url string) string {
	return "SHOP_DB_" + strings.ToUpper(module) + "_URL=" + url
}

// parseInterspersed reads flags before, between and after the positional
// arguments (`db move catalog --to URL`), and returns the positional ones.
func (c *command) parseInterspersed(args []string, stdout io.Writer) ([]string, error) {
	var positional []string
	for {
		if err := c.parse(args, stdout); err != nil {
			return nil, err
		}
		rest := c.flags.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if isHelp(rest[0]) {
			return nil, c.help(stdout)
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
}
