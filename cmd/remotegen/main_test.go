package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The generator reads the directive and the signatures of a contract: a
// method marked //shop:idempotent is called as idempotent, others are not;
// unnamed arguments and named results get wire names.
func TestGenerateReadsTheContract(t *testing.T) {
	t.Parallel()
	dir := fixture(t, "modules/widgets/widgets.go", `package widgets

import "context"

type API interface {
	// Widget reads a widget.
	//shop:idempotent
	Widget(ctx context.Context, id string) (string, error)
	// Spin is not idempotent.
	Spin(ctx context.Context, _ string, _ int) (spun bool, err error)
}
`)
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "modules/widgets/widgetsremote/remote_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(raw)
	for _, want := range []string{
		`cl.c.Call(ctx, Module, "Widget", true, widgetArgs{Id: id}, &res)`,
		`cl.c.Call(ctx, Module, "Spin", false, spinArgs{A1: a1, A2: a2}, &res)`,
		"Spun bool `json:\"spun\"`",
		`return []string{"Widget", "Spin"}`,
		`res.Spun, err = api.Spin(ctx, args.A1, args.A2)`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("generated code lacks %s:\n%s", want, src)
		}
	}
}

// A second interface in a contract would have no remote form: refused.
func TestGenerateRefusesOtherInterfaces(t *testing.T) {
	t.Parallel()
	dir := fixture(t, "modules/gadgets/gadgets.go", `package gadgets

import "context"

type API interface{ Get(ctx context.Context) error }

type Admin interface{ Reset(ctx context.Context) error }
`)
	if err := run(dir); err == nil || !strings.Contains(err.Error(), "only the interface API") {
		t.Fatalf("run = %v, want a refusal of Admin", err)
	}
}

// fixture writes a Go module holding one contract file and returns its
// directory.
func fixture(t *testing.T, name, text string) string {
	t.Helper()
	dir := t.TempDir()
	for path, text := range map[string]string{"go.mod": "module example.com/fixture\n\ngo 1.24\n", name: text} {
		path = filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
