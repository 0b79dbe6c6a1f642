package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

func runVersion(args []string, stdout io.Writer) error {
	c := newCommand("version", "shop version",
		"Prints what this binary was built from: the commit (+modified when the checkout had\nuncommitted changes; unknown when it was built outside a checkout), the commit's time, and\nthe Go version.")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.flags.NArg() > 0 {
		return usageError{fmt.Sprintf("version takes no arguments, got %q", c.flags.Args())}
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return errors.New("this binary holds no build information")
	}
	_, err := fmt.Fprintln(stdout, describeBuild(info))
	return err
}

// describeBuild is one line naming the commit a binary was built from, as
// Go records it when it builds in a checkout.
func describeBuild(info *debug.BuildInfo) string {
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	line := "shop "
	switch rev := vcs["vcs.revision"]; {
	case rev == "":
		line += "(unknown commit)"
	case vcs["vcs.modified"] == "true":
		line += rev + "+modified"
	default:
		line += rev
	}
	if t := vcs["vcs.time"]; t != "" {
		line += " " + t
	}
	return line + " " + info.GoVersion
}
