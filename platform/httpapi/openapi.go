package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/swaggest/jsonschema-go"
	openapi "github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi31"
)

// OpenAPIPath is where the API description is served.
const OpenAPIPath = "/api/openapi.json"

// Access levels of an operation, shown in its description and security.
const (
	AccessPublic  = "public"   // no session needed
	AccessUser    = "user"     // any signed-in user
	AccessAdmin   = "admin"    // the admin role
	AccessOptions = "optional" // public, with more for a signed-in user or admin
)

// Op documents one route. Input is a struct whose fields carry `path:"id"`,
// `query:"limit"` or `header:"Idempotency-Key"` tags for parameters and
// `json` tags for the request body (nil: no input). Every operation also
// documents the problem document of its failures.
type Op struct {
	Summary     string
	Description string
	Access      string
	Input       any
	Responses   []Response
}

// Response is one documented success response; a nil Body means none.
type Response struct {
	Status      int
	Body        any
	Description string
}

// Route is a registered route, to be documented.
type Route struct {
	module, method, path string
	op                   *Op
}

// Doc attaches the route's documentation.
func (r *Route) Doc(op Op) { r.op = &op }

type docs struct {
	mu     sync.Mutex
	routes []*Route
	cached []byte
}

func (d *docs) add(module, method, path string) *Route {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := &Route{module: module, method: method, path: path}
	d.routes = append(d.routes, r)
	d.cached = nil
	return r
}

// Undocumented lists the routes registered without Doc, as "METHOD path".
func (s *Server) Undocumented() []string {
	s.docs.mu.Lock()
	defer s.docs.mu.Unlock()
	var out []string
	for _, r := range s.docs.routes {
		if r.op == nil {
			out = append(out, r.method+" "+r.path)
		}
	}
	return out
}

var pathParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// OpenAPIPathOf turns an echo route path into an OpenAPI path template.
func OpenAPIPathOf(path string) string { return pathParam.ReplaceAllString(path, "{$1}") }

// OpenAPI builds the OpenAPI 3.1 description of every documented route.
func (s *Server) OpenAPI() ([]byte, error) {
	s.docs.mu.Lock()
	defer s.docs.mu.Unlock()
	if s.docs.cached != nil {
		return s.docs.cached, nil
	}
	r := openapi31.NewReflector()
	r.Spec.Info.WithTitle("Shop API").WithVersion("1").
		WithDescription("The HTTP API of the shop: every module's routes. Errors are application/problem+json documents (RFC 9457) whose `kind` names the error class and whose `errors` name the offending fields.")
	r.Spec.SetHTTPBearerTokenSecurity("bearer", "opaque", "Session token from POST /api/identity/login")
	r.Spec.SetAPIKeySecurity("cookie", s.cookie, openapi.InCookie, "Session cookie set by POST /api/identity/login")
	strictResponses(&r.Reflector)
	routes := slices.Clone(s.docs.routes)
	slices.SortFunc(routes, func(a, b *Route) int { return strings.Compare(a.path+" "+a.method, b.path+" "+b.method) })
	for _, rt := range routes {
		if rt.op == nil {
			continue
		}
		if err := addOperation(r, rt); err != nil {
			return nil, fmt.Errorf("openapi %s %s: %w", rt.method, rt.path, err)
		}
	}
	raw, err := json.MarshalIndent(r.Spec, "", "  ")
	if err != nil {
		return nil, err
	}
	s.docs.cached = raw
	return raw, nil
}

func addOperation(r *openapi31.Reflector, rt *Route) error {
	oc, err := r.NewOperationContext(rt.method, OpenAPIPathOf(rt.path))
	if err != nil {
		return err
	}
	op := rt.op
	oc.SetTags(rt.module)
	oc.SetSummary(op.Summary)
	desc := op.Description
	switch op.Access {
	case AccessUser, AccessAdmin:
		oc.AddSecurity("bearer")
		oc.AddSecurity("cookie")
		desc = strings.TrimSpace(desc + "\n\nAccess: " + op.Access + ".")
	default:
		desc = strings.TrimSpace(desc + "\n\nAccess: " + op.Access + ".")
	}
	oc.SetDescription(desc)
	if op.Input != nil {
		oc.AddReqStructure(op.Input)
	}
	for _, resp := range op.Responses {
		opts := []openapi.ContentOption{openapi.WithHTTPStatus(resp.Status)}
		if resp.Description != "" {
			opts = append(opts, func(cu *openapi.ContentUnit) { cu.Description = resp.Description })
		}
		oc.AddRespStructure(resp.Body, opts...)
	}
	oc.AddRespStructure(Problem{}, func(cu *openapi.ContentUnit) {
		cu.IsDefault = true
		cu.ContentType = ProblemContentType
		cu.Description = "The request failed; the problem document says why."
	})
	return r.AddOperation(oc)
}

// strictResponses makes response schemas say what the server promises:
// every field without omitempty is always present, and no other field is.
// (Request bodies keep the validator's rules, which the required and
// min/max tags of their structs describe.)
func strictResponses(r *jsonschema.Reflector) {
	inResponse := func(rc *jsonschema.ReflectContext) bool {
		oc, ok := openapi.OperationCtx(rc)
		return ok && oc.IsProcessingResponse()
	}
	r.DefaultOptions = append(r.DefaultOptions,
		jsonschema.InterceptProp(func(p jsonschema.InterceptPropParams) error {
			if !p.Processed || !inResponse(p.Context) {
				return nil
			}
			tag := p.Field.Tag.Get("json")
			if strings.Contains(tag, "omitempty") || strings.Contains(tag, "omitzero") {
				return nil
			}
			if !slices.Contains(p.ParentSchema.Required, p.Name) {
				p.ParentSchema.Required = append(p.ParentSchema.Required, p.Name)
			}
			switch p.Field.Type.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Map: // nil encodes as null
				nullable(p.PropertySchema)
			}
			return nil
		}),
		jsonschema.InterceptSchema(func(p jsonschema.InterceptSchemaParams) (bool, error) {
			if p.Processed && inResponse(p.Context) && len(p.Schema.Properties) > 0 && p.Schema.AdditionalProperties == nil {
				p.Schema.AdditionalProperties = (&jsonschema.SchemaOrBool{}).WithTypeBoolean(false)
			}
			return false, nil
		}),
	)
}

// nullable lets a schema also match null: a referenced schema becomes one
// of the reference or null.
func nullable(s *jsonschema.Schema) {
	if s.Ref != nil {
		ref := *s.Ref
		*s = jsonschema.Schema{}
		s.WithAnyOf((&jsonschema.Schema{}).WithRef(ref).ToSchemaOrBool(), (&jsonschema.Schema{}).WithType(jsonschema.Null.Type()).ToSchemaOrBool())
		return
	}
	if s.Type != nil {
		s.AddType(jsonschema.Null)
	}
}

func (s *Server) serveOpenAPI(c echo.Context) error {
	raw, err := s.OpenAPI()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, raw)
}
