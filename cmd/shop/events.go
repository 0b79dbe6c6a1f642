package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

func runEvents(ctx context.Context, args []string, stdout, stderr io.Writer, lookup Env) error {
	c := newCommand("events", "shop events dead [--subscriber S] | shop events replay ID|--all [--subscriber S]",
		"dead lists dead-lettered (and orphaned) events; replay delivers dead-lettered events again,\none by its id or all of them (a running shop picks them up at once).")
	all := c.flags.Bool("all", false, "replay: every dead-lettered event")
	subscriber := c.flags.String("subscriber", "", "only this subscriber id")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.flags.NArg() == 0 {
		return usageError{"events needs dead or replay"}
	}
	action := c.flags.Arg(0)
	if err := c.parse(c.flags.Args()[1:], stdout); err != nil {
		return err
	}
	fs := c.flags
	var id string
	switch {
	case action == "dead" && fs.NArg() == 0:
	case action == "replay" && *all && fs.NArg() == 0:
	case action == "replay" && !*all && fs.NArg() == 1:
		id = fs.Arg(0)
	default:
		return usageError{"use: shop events dead [--subscriber S] | shop events replay ID|--all [--subscriber S]"}
	}
	_, app, closeApp, err := composeApp(ctx, lookup, stderr)
	if err != nil {
		return err
	}
	defer closeApp()
	if action == "replay" {
		n, err := app.Bus.Replay(ctx, id, *subscriber)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "replayed %d event deliveries; a running shop picks them up now\n", n)
		return err
	}
	dead, err := app.Bus.DeadLetters(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT ID\tTYPE\tSUBSCRIBER\tATTEMPTS\tOCCURRED\tERROR")
	for _, d := range dead {
		if *subscriber != "" && d.Subscriber != *subscriber {
			continue
		}
		errText := d.Error
		if d.Orphaned {
			errText = "orphaned: no subscriber registered under this id"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.EventID, d.Type, d.Subscriber, d.Attempts, d.OccurredAt.Format("2006-01-02 15:04:05"), errText)
	}
	return tw.Flush()
}
