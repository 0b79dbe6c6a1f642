package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errHelpShown ends a command whose --help was printed: a success.
var errHelpShown = errors.New("help shown")

// command is one subcommand's flags and its --help text.
type command struct {
	synopsis string // "shop seed [--products N]"
	summary  string
	flags    *flag.FlagSet
}

func newCommand(name, synopsis, summary string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &command{synopsis: synopsis, summary: summary, flags: fs}
}

// parse reads the command's flags; -h or --help prints the command's usage
// on stdout and returns errHelpShown.
func (c *command) parse(args []string, stdout io.Writer) error {
	err := c.flags.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return c.help(stdout)
	}
	if err != nil {
		return usageError{fmt.Sprintf("%s (see %s --help)", err, strings.Join(strings.Fields(c.synopsis)[:2], " "))}
	}
	return nil
}

func (c *command) help(stdout io.Writer) error {
	if _, err := fmt.Fprintf(stdout, "usage: %s\n\n%s\n", c.synopsis, c.summary); err != nil {
		return err
	}
	n := 0
	c.flags.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(stdout, "\nflags:")
		c.flags.SetOutput(stdout)
		c.flags.PrintDefaults()
		c.flags.SetOutput(io.Discard)
	}
	return errHelpShown
}
