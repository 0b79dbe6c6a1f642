// Package benchtest holds what the benchmarks of `make bench` share to
// report a comparison measured side by side in one run: the median of a
// figure over the runs, and the goal line that compares two such medians.
//
// A goal line reads
//
//	goal | <what> | want <op> <value>× | measured <value>× (<detail>) | met|NOT met
//
// so that a reader (or grep '^goal') sees at once which goals hold.
package benchtest

import (
	"cmp"
	"fmt"
	"io"
	"slices"
)

// Goal writes a goal line to w: whether measured (a ratio) is at least
// want (op ">=") or at most want (op "<="), with detail saying what the
// ratio was made of. It reports whether the goal is met.
func Goal(w io.Writer, what, op string, want, measured float64, detail string) bool {
	return GoalIn(w, what, op, want, measured, "×", detail)
}

// GoalIn is Goal for a figure in unit (" ms", " %"): an absolute bound
// rather than a ratio.
func GoalIn(w io.Writer, what, op string, want, measured float64, unit, detail string) bool {
	met := measured >= want
	if op == "<=" {
		met = measured <= want
	}
	verdict := map[bool]string{true: "met", false: "NOT met"}[met]
	fmt.Fprintf(w, "goal | %s | want %s %.2f%s | measured %.2f%s (%s) | %s\n", what, op, want, unit, measured, unit, detail, verdict)
	return met
}

// Median returns the median of xs (the upper one of an even count); the
// zero value when there is none. xs is left as it was.
func Median[T cmp.Ordered](xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
