// Command shop is the whole online shop in one binary: every module, the HTTP
// edge, and the operator commands. A process hosts every module, or those of
// SHOP_MODULES, and reaches the others at SHOP_MODULE_URLS.
//
//	shop [serve] [--seed-demo]            run the shop (default)
//	shop migrate up|down|status [module]  manage each module's schema
//	shop seed [--products N]              load demo data
//	shop events dead | replay ID|--all    inspect and replay dead-lettered events
//	shop events forget SUBSCRIBER         retire a subscriber id no process runs any more
//	shop reporting rebuild                recompute the sales figures from events
//	shop db move MODULE --to URL          move a module's schema to another database
//	shop modules [--mermaid|--json]       list modules, where each runs, and their dependencies
//	shop config                           print the effective configuration
//	shop keys                             print a new set of keys for calls between modules
//	shop version                          print the commit this binary was built from
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "shop: %v\n\n%s", err, usage)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "shop: %v\n", err)
		os.Exit(1)
	}
}

const usage = `usage:
  shop [serve] [--seed-demo]            run the shop (default)
  shop migrate up|down|status [module]  apply, revert one step of, or show each module's migrations
  shop seed [--products N]              load demo data (categories, products, deals)
  shop events dead [--subscriber S]     list dead-lettered (and orphaned) events
  shop events replay ID|--all           deliver dead-lettered events again
  shop events forget SUBSCRIBER         retire a subscriber id no process runs any more
  shop reporting rebuild                recompute the sales figures from the journal of order events
  shop db move MODULE --to URL          copy a module's schema, data and migration state to another database
  shop modules [--mermaid|--json]       list modules, where each runs (local or remote), and their dependencies
  shop config                           print the effective configuration (secrets masked)
  shop keys                             print a new set of keys for calls between modules (one per module)
  shop version                          print the commit this binary was built from
  shop help [command]                   this help, or a command's (also: shop <command> --help)
`

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Env looks up an environment variable (os.LookupEnv, or a map in tests).
type Env func(string) (string, bool)

// realMain runs one command; everything it needs from the outside world is
// passed in, so tests can run it in-process too.
func realMain(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) error {
	err := run(ctx, args, stdout, stderr, env)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) error {
	cmd := "serve"
	switch {
	case len(args) > 0 && isHelp(args[0]):
		// `shop --help` is the program's help; `shop serve --help` serve's.
		cmd = "help"
	case len(args) > 0 && args[0] != "" && args[0][0] != '-':
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stdout, stderr, env)
	case "migrate":
		return runMigrate(ctx, args, stdout, stderr, env)
	case "seed":
		return runSeed(ctx, args, stdout, stderr, env)
	case "events":
		return runEvents(ctx, args, stdout, stderr, env)
	case "reporting":
		return runReporting(ctx, args, stdout, stderr, env)
	case "db":
		return runDB(ctx, args, stdout, stderr, env)
	case "modules":
		return runModules(args, stdout, env)
	case "config":
		return runConfig(args, stdout, stderr, env)
	case "keys":
		return runKeys(args, stdout)
	case "version":
		return runVersion(args, stdout)
	case "help":
		if len(args) == 1 && !isHelp(args[0]) {
			return run(ctx, []string{args[0], "--help"}, stdout, stderr, env)
		}
		_, err := io.WriteString(stdout, usage)
		return err
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}
