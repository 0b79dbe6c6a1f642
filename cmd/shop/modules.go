package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shopmonolith/shop/platform/kernel"
)

func runModules(args []string, stdout io.Writer, lookup Env) error {
	c := newCommand("modules", "shop modules [--mermaid|--json]",
		"Lists the modules, where each runs for this process (local, or remote at its SHOP_MODULE_URLS\naddress), their dependencies and the module graph (Mermaid).")
	onlyMermaid := c.flags.Bool("mermaid", false, "print only the Mermaid graph")
	asJSON := c.flags.Bool("json", false, "print the modules, dependencies first, as JSON (name, summary, depends_on): what tools that start the shop's processes read")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	g, err := kernel.NewGraph(descriptors()...)
	if err != nil {
		return err
	}
	if *asJSON {
		return printModulesJSON(stdout, g.Order())
	}
	if !*onlyMermaid {
		e, err := settings(lookup)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MODULE\tRUNS\tDEPENDS ON\tSUMMARY")
		for _, d := range g.Order() {
			deps := strings.Join(d.DependsOn, ", ")
			if deps == "" {
				deps = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Name, e.place.where(d.Name), deps, d.Summary)
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

func runConfig(args []string, stdout, stderr io.Writer, lookup Env) error {
	c := newCommand("config", "shop config",
		"Prints the effective configuration, one NAME=value per line with secrets masked, how the\nconnection budget splits across the hosted modules, and where each module runs. An invalid\nsetting prints the error alone; a valid one that is probably not meant (in production) prints\na warning on stderr.")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.flags.NArg() > 0 {
		return usageError{fmt.Sprintf("config takes no arguments, got %q", c.flags.Args())}
	}
	e, err := settings(lookup)
	if err != nil {
		return err
	}
	warnings := e.cfg.Warnings()
	if err := e.place.checkServe(); err != nil {
		warnings = append(warnings, "shop serve refuses this topology: "+err.Error())
	}
	for _, w := range warnings {
		if _, err := fmt.Fprintf(stderr, "shop: warning: %s\n", w); err != nil {
			return err
		}
	}
	if err := e.cfg.Print(stdout); err != nil {
		return err
	}
	if err := e.budget.Print(stdout); err != nil {
		return err
	}
	return e.place.print(stdout)
}

// moduleJSON is one module as shop modules --json prints it.
type moduleJSON struct {
	Name      string   `json:"name"`
	Summary   string   `json:"summary"`
	DependsOn []string `json:"depends_on"`
}

func printModulesJSON(w io.Writer, order []kernel.Descriptor) error {
	out := make([]moduleJSON, len(order))
	for i, d := range order {
		out[i] = moduleJSON{Name: d.Name, Summary: d.Summary, DependsOn: d.DependsOn}
		if out[i].DependsOn == nil {
			out[i].DependsOn = []string{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
