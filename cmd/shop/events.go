package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/shopmonolith/shop/platform/config"
)

func runEvents(ctx context.Context, args []string, stdout, stderr io.Writer, lookup Env) error {
	const synopsis = "shop events dead [--subscriber S] | shop events replay ID|--all [--subscriber S] | shop events forget SUBSCRIBER"
	c := newCommand("events", synopsis,
		"dead lists dead-lettered (and orphaned) events; replay delivers dead-lettered events again,\none by its id or all of them (a running shop picks them up at once); forget retires a\nsubscriber id no process runs any more: it stops receiving events and its undelivered\nevents are deleted, with the nats transport its durable consumers on the broker too\n(an id this version registers, or one run lately, is refused).")
	all := c.flags.Bool("all", false, "replay: every dead-lettered event")
	subscriber := c.flags.String("subscriber", "", "only this subscriber id")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.flags.NArg() == 0 {
		return usageError{"events needs dead, replay or forget"}
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
	case action == "replay" && !*all && fs.NArg() == 1, action == "forget" && !*all && *subscriber == "" && fs.NArg() == 1:
		id = fs.Arg(0)
	default:
		return usageError{"use: " + synopsis}
	}
	e, app, closeApp, err := composeApp(ctx, lookup, stderr, "events")
	if err != nil {
		return err
	}
	defer closeApp()
	switch action {
	case "forget":
		f, err := app.Bus.Forget(ctx, id)
		if err != nil {
			return err
		}
		consumers := ""
		if e.cfg.Events.Transport == config.EventsNATS {
			consumers = fmt.Sprintf(", %d broker consumers", f.Consumers)
		}
		_, err = fmt.Fprintf(stdout, "forgot %s: %d registrations%s and %d undelivered events deleted\n", id, f.Registrations, consumers, f.Undelivered)
		return err
	case "replay":
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
		switch {
		case d.Orphaned && d.LastRun != nil:
			errText = "orphaned: no process has run this subscriber since " + d.LastRun.Format("2006-01-02 15:04:05") + " (shop events forget retires it)"
		case d.Orphaned:
			errText = "orphaned: no process registers this subscriber id"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.EventID, d.Type, d.Subscriber, d.Attempts, d.OccurredAt.Format("2006-01-02 15:04:05"), errText)
	}
	return tw.Flush()
}
