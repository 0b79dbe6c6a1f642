// Package testreport lets the operational tests (faults, restarts, moves,
// traces) show their counts where go test hides them: go test ./... prints
// nothing of a package that passes, so a t.Log of "12 checkouts, 0 lost"
// never reaches CI's output. Print logs the line as usual and, when
// SHOP_TEST_REPORT names a file, appends it there too, for make test to
// print once every package has run.
package testreport

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Env names the file the counts are appended to; empty appends none.
const Env = "SHOP_TEST_REPORT"

// Print logs the formatted text on t and appends "<TestName>: <text>" to
// the file of SHOP_TEST_REPORT, if set. Test processes of several packages
// append to it at once: each line is one write to a file opened with
// O_APPEND, so lines never interleave. Failing to append fails the test.
func Print(t testing.TB, format string, args ...any) {
	t.Helper()
	text := fmt.Sprintf(format, args...)
	t.Log(text)
	path := os.Getenv(Env)
	if path == "" {
		return
	}
	if err := appendLine(path, line(t.Name(), text)); err != nil {
		t.Errorf("%s: %v", Env, err)
	}
}

// line is one line of the report: a text of several lines is indented
// under the test's name, so that it is still one write.
func line(name, text string) string {
	text = strings.TrimRight(text, "\n")
	return name + ": " + strings.ReplaceAll(text, "\n", "\n    ") + "\n"
}

func appendLine(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
