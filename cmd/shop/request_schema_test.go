package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/httpapi"
)

// bodyOperation is an operation with a JSON request body, as described.
type bodyOperation struct {
	method, template, access string
	schema                   string // component name of the body's schema
	properties               map[string]json.RawMessage
	required                 []string
}

var pathParamOf = regexp.MustCompile(`\{[^/]+\}`)

// TestRequestSchemasMatchTheValidator holds every described request body
// to what the server enforces: sent the empty object, an operation names
// as missing exactly the fields its schema requires; sent a required field
// as null, it refuses it, and the schema does not allow null there either.
// A validate tag and a schema that drift apart fail here.
func TestRequestSchemasMatchTheValidator(t *testing.T) {
	t.Parallel()
	s := startShop(t)
	tokens := map[string]string{
		httpapi.AccessAdmin: s.login(adminEmail, adminPassword),
		httpapi.AccessUser:  s.register("schemas@example.com"),
	}
	if err := spec.load(s); err != nil {
		t.Fatal(err)
	}
	ops := bodyOperations(t, s.must(http.StatusOK, s.call(http.MethodGet, httpapi.OpenAPIPath, "", nil)).Body)
	if len(ops) < 10 {
		t.Fatalf("only %d operations with a body found", len(ops))
	}
	for _, op := range ops {
		route := op.method + " " + op.template
		send := func(body map[string]any) response {
			path := pathParamOf.ReplaceAllStringFunc(op.template, func(string) string { return uuid.NewString() })
			return s.call(op.method, path, tokens[op.access], body, "Idempotency-Key: "+uuid.NewString())
		}

		missing := requiredNamed(t, send(map[string]any{}), op)
		if !slices.Equal(missing, op.required) {
			t.Errorf("%s sent {}: the server requires %v, the schema %s %v", route, missing, op.schema, op.required)
		}
		for _, field := range op.required {
			r := send(map[string]any{field: nil})
			if r.Status != http.StatusUnprocessableEntity || !slices.Contains(fieldsOf(r.object(t)), field) {
				t.Errorf("%s sent %s null: %d %s, want 422 naming it", route, field, r.Status, r.Body)
			}
			sch, err := spec.compiler.Compile(fmt.Sprintf("%s#/components/schemas/%s/properties/%s", specURL, op.schema, field))
			if err != nil {
				t.Fatal(err)
			}
			if sch.Validate(nil) == nil {
				t.Errorf("%s: the schema %s lets the required field %s be null", route, op.schema, field)
			}
		}
	}
}

// requiredNamed lists, sorted, the body fields a 422 answer names with the
// rule "required".
func requiredNamed(t *testing.T, r response, op bodyOperation) []string {
	t.Helper()
	if r.Status != http.StatusUnprocessableEntity {
		return nil
	}
	var p struct {
		Errors []struct{ Field, Rule string } `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range p.Errors {
		if _, inBody := op.properties[e.Field]; inBody && e.Rule == "required" {
			out = append(out, e.Field)
		}
	}
	slices.Sort(out)
	return out
}

func bodyOperations(t *testing.T, raw []byte) []bodyOperation {
	t.Helper()
	type schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Access      string `json:"x-shop-access"`
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []bodyOperation
	for _, template := range slices.Sorted(maps.Keys(doc.Paths)) {
		for method, op := range doc.Paths[template] {
			content, ok := op.RequestBody.Content["application/json"]
			if !ok {
				continue
			}
			name, ok := strings.CutPrefix(content.Schema.Ref, "#/components/schemas/")
			if !ok {
				t.Fatalf("%s %s: the body schema is not a component: %q", method, template, content.Schema.Ref)
			}
			sch := doc.Components.Schemas[name]
			required := slices.Sorted(slices.Values(sch.Required))
			out = append(out, bodyOperation{method: strings.ToUpper(method), template: template, access: op.Access,
				schema: name, properties: sch.Properties, required: required})
		}
	}
	return out
}
