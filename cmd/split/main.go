// Command split runs the shop split into processes on one machine, for a
// developer: one process per group of modules of a topology (default
// split: every module alone, behind a pure edge), on one database, with
// events over NATS JetStream.
//
//	split [-shop bin/shop] [-topology split|catalog|monolith] [-products N]
//
// It finds a PostgreSQL as the shop does (DATABASE_URL, else a local or
// embedded one), starts an embedded NATS server when SHOP_NATS_URL is not
// set, migrates and loads the demo data once (shop seed), then starts the
// processes with their log lines prefixed by their names, the front
// (the edge) on SHOP_HTTP_ADDR (default :8080). SIGINT or SIGTERM stops them
// all; it exits 0 when every one exited cleanly.
//
// It is its own command, not a shop subcommand, so that the shop binary
// does not link the NATS server.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/devdb"
	"github.com/shopmonolith/shop/platform/topology"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := realMain(ctx, os.Args[1:], os.Stderr, os.Environ())
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "split: %v\n", err)
		os.Exit(1)
	}
}

// settings are the command's flags and the environment it reads.
type settings struct {
	shop     string // the shop binary
	topology string
	products int
	dbURL    string // DATABASE_URL; empty: find one as the shop does
	natsURL  string // SHOP_NATS_URL; empty: start one
	front    string // SHOP_HTTP_ADDR of the front
	env      []string
}

func parse(args []string, stderr io.Writer, environ []string) (settings, error) {
	fs := flag.NewFlagSet("split", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	fs.StringVar(&s.shop, "shop", "bin/shop", "the shop binary")
	fs.StringVar(&s.topology, "topology", topology.Split, "monolith, catalog (catalog alone) or split (every module alone, behind an edge)")
	fs.IntVar(&s.products, "products", 60, "demo products to load before the start (shop seed --products)")
	if err := fs.Parse(args); err != nil {
		return settings{}, err
	}
	if fs.NArg() > 0 {
		return settings{}, fmt.Errorf("split takes no arguments, got %q", fs.Args())
	}
	s.env = environ
	s.dbURL, s.natsURL = s.get("DATABASE_URL"), s.get("SHOP_NATS_URL")
	s.front = cmp.Or(s.get("SHOP_HTTP_ADDR"), ":8080")
	return s, nil
}

// lookup finds a variable of the environment; the last setting wins.
func (s settings) lookup(name string) (string, bool) {
	for i := len(s.env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(s.env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func (s settings) get(name string) string { v, _ := s.lookup(name); return v }

// without is the environment without the variables names.
func (s settings) without(names ...string) []string {
	return slices.DeleteFunc(slices.Clone(s.env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

// realMain runs the command with its arguments and environment; the shop's
// processes inherit the environment, with the topology's settings.
func realMain(ctx context.Context, args []string, stderr io.Writer, environ []string) error {
	s, err := parse(args, stderr, environ)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With(slog.String("process", "split"))
	modules, err := topology.ModulesOf(ctx, s.shop)
	if err != nil {
		return err
	}
	tp, err := topology.Named(s.topology, modules, true)
	if err != nil {
		return err
	}
	dbURL, stopDB, err := locateDatabase(ctx, s, log)
	if err != nil {
		return err
	}
	defer stopDB()
	natsURL := s.natsURL
	if natsURL == "" && tp.Distributed() {
		srv, err := startNATS()
		if err != nil {
			return err
		}
		defer srv.stop()
		natsURL = srv.url
		log.Info("started an embedded NATS server", slog.String("url", natsURL))
	}
	if err := seed(ctx, s, dbURL, len(modules), stderr); err != nil {
		return err
	}
	c, err := topology.Start(ctx, tp, topology.Options{
		Binary: s.shop, DatabaseURL: dbURL, NATSURL: natsURL, Env: s.env, FrontAddr: s.front, Output: stderr,
		ProcessEnv: func(g topology.Group) []string { return []string{"SHOP_DB_MAX_CONNS=" + strconv.Itoa(conns(g))} },
	})
	if err != nil {
		return err
	}
	for _, p := range c.Processes() {
		log.Info("process ready", slog.String("name", p.Name()), slog.Int("pid", p.PID()), slog.String("url", p.URL()))
	}
	log.Info("the shop is ready; Ctrl-C stops it", slog.String("topology", tp.Name), slog.String("url", c.Front().URL()))
	<-ctx.Done()
	log.Info("stopping every process")
	if err := c.Stop(); err != nil {
		return err
	}
	log.Info("every process exited cleanly")
	return nil
}

// connsPerModule is each hosted module's share of a process's connections:
// SHOP_EVENTS_WORKERS (2) event handlers and one more, the least serve
// accepts, so that the split shop fits a default PostgreSQL beside other
// programs.
const connsPerModule = 3

// conns is a process's SHOP_DB_MAX_CONNS: small, so that the processes of
// a split shop fit in a local PostgreSQL's default 100 connections. An edge
// gets the least the configuration accepts.
func conns(g topology.Group) int {
	if g.Edge() {
		return database.OwnerConns + database.ListenConns + database.MinModuleConns
	}
	return database.OwnerConns + database.ListenConns + connsPerModule*len(g.Modules)
}

// seedConns is the seed's SHOP_DB_MAX_CONNS: the least that opens every
// module.
func seedConns(modules int) int {
	return database.OwnerConns + database.ListenConns + database.MinModuleConns*modules
}

// locateDatabase finds the database as `shop serve` does, once for every
// process: an embedded PostgreSQL it starts runs until the command ends.
func locateDatabase(ctx context.Context, s settings, log *slog.Logger) (string, func(), error) {
	cfg, err := config.Load(s.lookup)
	if err != nil {
		return "", nil, err
	}
	loc, err := devdb.Locate(ctx, cfg.DB, log)
	if err != nil {
		return "", nil, err
	}
	stop := func() {
		if loc.Stop != nil {
			if err := loc.Stop(); err != nil {
				log.Warn("stop the embedded PostgreSQL", slog.String("error", err.Error()))
			}
		}
	}
	return loc.URL, stop, nil
}

// seed migrates every module and loads the demo data in one process that
// hosts them all, before the split processes start: seeding needs catalog
// and inventory in one process.
func seed(ctx context.Context, s settings, dbURL string, modules int, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, s.shop, "seed", "--products", strconv.Itoa(s.products))
	cmd.Env = append(s.without("SHOP_MODULES", "SHOP_MODULE_URLS", "SHOP_HTTP_INTERNAL_ADDR"),
		"DATABASE_URL="+dbURL, "SHOP_DB_MAX_CONNS="+strconv.Itoa(seedConns(modules)))
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		return fmt.Errorf("shop seed: %w", err)
	}
	return nil
}
