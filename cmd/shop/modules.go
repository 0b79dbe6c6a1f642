package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shopmonolith/shop/platform/kernel"
)

func runModules(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("modules", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	onlyMermaid := fs.Bool("mermaid", false, "print only the Mermaid graph")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	g, err := kernel.NewGraph(descriptors()...)
	if err != nil {
		return err
	}
	if !*onlyMermaid {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MODULE\tDEPENDS ON\tSUMMARY")
		for _, d := range g.Order() {
			deps := strings.Join(d.DependsOn, ", ")
			if deps == "" {
				deps = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Name, deps, d.Summary)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "\n```mermaid")
	}
	fmt.Fprint(stdout, g.Mermaid())
	if !*onlyMermaid {
		fmt.Fprintln(stdout, "```")
	}
	return nil
}

func runConfig(stdout io.Writer, lookup Env) error {
	// An invalid configuration is still printed, so the operator sees it
	// next to what is wrong with it.
	e, err := settings(lookup)
	if perr := e.cfg.Print(stdout); perr != nil {
		return perr
	}
	if err != nil {
		return err
	}
	return e.budget.Print(stdout)
}
