package testreport

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Print appends "<TestName>: <text>" to the file SHOP_TEST_REPORT names,
// after what is there; without the setting it writes no file.
func TestPrintAppendsTheTestsLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.txt")
	if err := os.WriteFile(path, []byte("earlier: 1 count\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(Env, path)
	t.Run("moved", func(t *testing.T) { Print(t, "%d rows in %s", 2000, "1.2s") })
	Print(t, "spans:\n3 processes")
	t.Setenv(Env, "")
	Print(t, "not in the report")

	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "earlier: 1 count\n" +
		"TestPrintAppendsTheTestsLine/moved: 2000 rows in 1.2s\n" +
		"TestPrintAppendsTheTestsLine: spans:\n    3 processes\n"
	if string(got) != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
}

// Writers that append at once, each on a file of its own opening (as test
// processes of several packages do), leave every line whole.
func TestConcurrentWritersKeepLinesWhole(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "report.txt")
	const writers, lines = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				// Long lines: a write of several blocks.
				text := fmt.Sprintf("%d/%d %s", w, i, strings.Repeat(string(rune('a'+w)), 9000))
				if err := appendLine(path, line("TestW", text)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(all) != writers*lines {
		t.Fatalf("%d lines, want %d", len(all), writers*lines)
	}
	var seen []string
	for _, l := range all {
		var w, i int
		var body string
		if _, err := fmt.Sscanf(l, "TestW: %d/%d %s", &w, &i, &body); err != nil || body != strings.Repeat(string(rune('a'+w)), 9000) {
			t.Fatalf("a torn line: %.80q…", l)
		}
		seen = append(seen, fmt.Sprint(w, "/", i))
	}
	slices.Sort(seen)
	if len(slices.Compact(seen)) != writers*lines {
		t.Errorf("lines lost or doubled")
	}
}
