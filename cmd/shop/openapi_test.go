package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/shopmonolith/shop/migrations"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
)

// conformance checks responses against the OpenAPI description the shop
// serves: every /api response an end-to-end test receives must match the
// schema of its operation and status, so a handler that drifts from its
// description fails the tests that call it.
type conformance struct {
	once     sync.Once
	err      error
	compiler *jsonschema.Compiler
	ops      []operation
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
}

type operation struct {
	method    string
	template  string
	id        string // operationId
	access    string // x-shop-access
	match     *regexp.Regexp
	responses map[string]map[string]bool // status or "default" → content types
}

// spec is loaded from the first shop that asks: the description is the
// same for every shop built from this binary that hosts every module.
var spec conformance

const specURL = "shop:openapi.json"

func (c *conformance) load(s *shop) error {
	c.once.Do(func() {
		r := s.call(http.MethodGet, httpapi.OpenAPIPath, "", nil)
		if r.Status != http.StatusOK {
			c.err = fmt.Errorf("GET %s: %d", httpapi.OpenAPIPath, r.Status)
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Body))
		if err != nil {
			c.err = err
			return
		}
		c.compiler = jsonschema.NewCompiler()
		c.compiler.AssertFormat()
		if c.err = c.compiler.AddResource(specURL, doc); c.err != nil {
			return
		}
		c.schemas = map[string]*jsonschema.Schema{}
		c.ops, c.err = operations(doc)
	})
	return c.err
}

var templateParam = regexp.MustCompile(`\\\{[^/]+?\\\}`)

func operations(doc any) ([]operation, error) {
	paths, ok := doc.(map[string]any)["paths"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no paths in the description")
	}
	var ops []operation
	for template, item := range paths {
		for method, raw := range item.(map[string]any) {
			id, _ := raw.(map[string]any)["operationId"].(string)
			access, _ := raw.(map[string]any)[httpapi.AccessExtension].(string)
			op := operation{
				method: strings.ToUpper(method), template: template, id: id, access: access, responses: map[string]map[string]bool{},
				match: regexp.MustCompile("^" + templateParam.ReplaceAllString(regexp.QuoteMeta(template), `[^/]+`) + "$"),
			}
			for status, resp := range raw.(map[string]any)["responses"].(map[string]any) {
				types := map[string]bool{}
				if content, ok := resp.(map[string]any)["content"].(map[string]any); ok {
					for ct := range content {
						types[ct] = true
					}
				}
				op.responses[status] = types
			}
			ops = append(ops, op)
		}
	}
	// Literal segments win over parameters (/api/products/sku/{sku} over
	// /api/products/{id}): try templates with fewer parameters first.
	slices.SortFunc(ops, func(a, b operation) int {
		return strings.Count(a.template, "{") - strings.Count(b.template, "{")
	})
	return ops, nil
}

// check validates one response; it reports what does not conform.
func (c *conformance) check(method, path string, r response) error {
	path, _, _ = strings.Cut(path, "?")
	var op *operation
	for i := range c.ops {
		if c.ops[i].method == method && c.ops[i].match.MatchString(path) {
			op = &c.ops[i]
			break
		}
	}
	if op == nil {
		return nil // not an operation (404 and 405 answers of the router); the route test covers the description
	}
	status := strconv.Itoa(r.Status)
	types, ok := op.responses[status]
	if !ok && r.Status >= 400 && r.Status < 500 {
		// Clients branch on the 4xx statuses an operation lists; default
		// is for server failures.
		return fmt.Errorf("%s %s answered %d, which %s does not list among its failures", method, path, r.Status, op.template)
	}
	if !ok {
		status = "default"
		types, ok = op.responses[status]
	}
	if !ok {
		return fmt.Errorf("%s %s answered %d, which %s does not describe", method, path, r.Status, op.template)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if len(types) == 0 {
		if len(r.Body) > 0 {
			return fmt.Errorf("%s %s answered %d with a body; the description has none", method, path, r.Status)
		}
		return nil
	}
	if !types[ct] {
		return fmt.Errorf("%s %s answered %d as %q; the description says %v", method, path, r.Status, ct, types)
	}
	sch, err := c.schema(op, status, ct)
	if err != nil {
		return err
	}
	body, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Body))
	if err != nil {
		return fmt.Errorf("%s %s: body is not JSON: %v", method, path, err)
	}
	if err := sch.Validate(body); err != nil {
		return fmt.Errorf("%s %s answered %d not as described (%s): %#v\nbody: %s", method, path, r.Status, op.template, err, r.Body)
	}
	return nil
}

func (c *conformance) schema(op *operation, status, ct string) (*jsonschema.Schema, error) {
	esc := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1") }
	loc := fmt.Sprintf("%s#/paths/%s/%s/responses/%s/content/%s/schema", specURL, esc(op.template), strings.ToLower(op.method), status, esc(ct))
	c.mu.Lock()
	defer c.mu.Unlock()
	if sch, ok := c.schemas[loc]; ok {
		return sch, nil
	}
	sch, err := c.compiler.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", loc, err)
	}
	c.schemas[loc] = sch
	return sch, nil
}

// conform fails the test when an /api response does not match the
// description.
func (s *shop) conform(method, path string, r response) {
	s.t.Helper()
	if !strings.HasPrefix(path, "/api/") || path == httpapi.OpenAPIPath || s.partial {
		return
	}
	if err := spec.load(s); err != nil {
		s.t.Fatalf("load the API description: %v", err)
	}
	if err := spec.check(method, path, r); err != nil {
		s.t.Error(err)
	}
}

// inProcessMonolith composes every module in this test's process, with the
// default configuration, on a fresh database.
func inProcessMonolith(t *testing.T) *App {
	t.Helper()
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = dbtest.Config()
	mods, err := moduleNames()
	if err != nil {
		t.Fatal(err)
	}
	owner := dbtest.OpenOwner(t, dbtest.NewURL(t), cfg.DB, mods)
	dbs := kernel.NewDatabases(owner, migrations.FS, true, log)
	t.Cleanup(dbs.Close)
	return buildMonolith(t, ctx, cfg, log, dbs)
}

// TestEveryRouteIsDescribed composes the whole process in-process and checks
// that every /api route the router knows is in the description, and that
// the description has nothing the router does not serve.
func TestEveryRouteIsDescribed(t *testing.T) {
	t.Parallel()
	app := inProcessMonolith(t)
	if missing := app.Server.Undocumented(); len(missing) > 0 {
		t.Errorf("routes registered without a description: %v", missing)
	}
	raw, err := app.Server.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI    string                    `json:"openapi"`
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	// Schemas are named after their module, also those of the handlers'
	// own structs in the modules' internal/rest packages; two types of one
	// name would get an arbitrary suffix (…Type2).
	for name := range doc.Components.Schemas {
		if strings.HasPrefix(name, "Rest") || schemaSuffix.MatchString(name) {
			t.Errorf("schema %s is not named after its module", name)
		}
	}
	served := map[string]bool{}
	for _, rt := range app.Server.Echo.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/") {
			continue
		}
		key := strings.ToLower(rt.Method) + " " + httpapi.OpenAPIPathOf(rt.Path)
		served[key] = true
		if _, ok := doc.Paths[httpapi.OpenAPIPathOf(rt.Path)][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is served but not described", rt.Method, rt.Path)
		}
	}
	for path, item := range doc.Paths {
		for method := range item {
			if !served[method+" "+path] {
				t.Errorf("%s %s is described but not served", method, path)
			}
		}
	}
	if len(served) < 30 {
		t.Errorf("only %d routes found; is the whole process composed?", len(served))
	}
	ops, err := operations(mustUnmarshal(t, raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range operationIDProblems(ops) {
		t.Error(p)
	}
}

var (
	camelCase    = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	schemaSuffix = regexp.MustCompile(`Type[0-9]+$`)
)

// operationIDProblems wants every operation to have an explicit camelCase
// operationId, used by no other operation: client generators name their
// methods after it.
func operationIDProblems(ops []operation) []string {
	var out []string
	byID := map[string]string{}
	for _, op := range ops {
		route := op.method + " " + op.template
		switch other, taken := byID[op.id]; {
		case op.id == "":
			out = append(out, route+" has no operationId (set Op.ID)")
		case !camelCase.MatchString(op.id):
			out = append(out, fmt.Sprintf("%s has the operationId %q, which is not camelCase", route, op.id))
		case taken:
			out = append(out, fmt.Sprintf("%s and %s share the operationId %q", other, route, op.id))
		}
		byID[op.id] = route
	}
	return out
}

func TestOperationIDProblems(t *testing.T) {
	t.Parallel()
	op := func(method, template, id string) operation {
		return operation{method: method, template: template, id: id}
	}
	got := operationIDProblems([]operation{
		op("GET", "/a", "getA"), op("POST", "/a", ""), op("GET", "/b", "get_b"), op("GET", "/c", "getA"),
	})
	want := []string{
		"POST /a has no operationId (set Op.ID)",
		`GET /b has the operationId "get_b", which is not camelCase`,
		`GET /a and GET /c share the operationId "getA"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems = %q, want %q", got, want)
	}
}

func mustUnmarshal(t *testing.T, raw []byte) any {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
