package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/swaggest/jsonschema-go"
	openapi "github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi31"
)

// OpenAPIPath is where the API description is served.
const OpenAPIPath = "/api/openapi.json"

// Access levels of an operation. The description carries each one as the
// extension AccessExtension and as security requirements, so clients and
// tests read who may call a route from the document.
const (
	AccessPublic  = "public"   // no session needed
	AccessUser    = "user"     // any signed-in user
	AccessAdmin   = "admin"    // the admin role
	AccessOptions = "optional" // public, with more for a signed-in user or admin
)

// AccessExtension is the operation's extension that names its access level.
const AccessExtension = "x-shop-access"

// Op documents one route. Input is a struct whose fields carry `path:"id"`,
// `query:"limit"` or `header:"Idempotency-Key"` tags for parameters and
// `json` tags for the request body (nil: no input); a body field's
// `validate` rules become its schema's (required and never null, min, max).
//
// Every operation documents the problem document of its failures: the 4xx
// statuses that follow from the Input and Access (see failureStatuses), the
// ones listed in Errors, and a default for the rest (5xx).
type Op struct {
	// ID is the operationId: camelCase, unique and stable, since client
	// generators name their methods after it.
	ID          string
	Summary     string
	Description string
	Access      string
	Input       any
	Responses   []Response
	// Errors lists the 4xx (and 503) statuses the route's own logic answers
	// beyond the derived ones: 409 for a conflict with the current state, 429
	// for a rate limit, 503 for a neighbour that cannot answer now, 401 or
	// 404 where no session or id in the path implies them.
	Errors []int
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
	spanName             string // "GET /api/orders/:id"
	op                   *Op
	// forwarded: served by forwarding to the process hosting the module
	forwarded bool
}

// Doc attaches the route's documentation.
func (r *Route) Doc(op Op) { r.op = &op }

type docs struct {
	mu     sync.RWMutex
	routes []*Route
	byKey  map[routeKey]*Route
	cached []byte
}

type routeKey struct{ method, path string }

func (d *docs) add(module, method, path string, forwarded bool) *Route {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := &Route{module: module, method: method, path: path, spanName: method + " " + path, forwarded: forwarded}
	d.routes = append(d.routes, r)
	if d.byKey == nil {
		d.byKey = map[routeKey]*Route{}
	}
	d.byKey[routeKey{method, path}] = r
	d.cached = nil
	return r
}

// lookup returns the route registered for method and (echo) path.
func (d *docs) lookup(method, path string) (*Route, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	r, ok := d.byKey[routeKey{method, path}]
	return r, ok
}

// Undocumented lists the routes registered without Doc, as "METHOD path".
func (s *Server) Undocumented() []string {
	s.docs.mu.RLock()
	defer s.docs.mu.RUnlock()
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
	// Relative: the API is served by whichever host serves this document.
	r.Spec.WithServers(openapi31.Server{URL: "/", Description: ptr("the host serving this document")})
	strictResponses(&r.Reflector)
	validatedRequests(&r.Reflector)
	namedByOwner(&r.Reflector)
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
	op := rt.op
	security, ok := accessSecurity[op.Access]
	if !ok {
		return fmt.Errorf("access %q is none of %s, %s, %s, %s", op.Access, AccessPublic, AccessOptions, AccessUser, AccessAdmin)
	}
	oc, err := r.NewOperationContext(rt.method, OpenAPIPathOf(rt.path))
	if err != nil {
		return err
	}
	oc.SetID(op.ID)
	oc.SetTags(rt.module)
	oc.SetSummary(op.Summary)
	oc.SetDescription(strings.TrimSpace(op.Description + "\n\nAccess: " + op.Access + "."))
	o := oc.(openapi31.OperationExposer).Operation()
	o.Security = security
	o.WithMapOfAnythingItem(AccessExtension, op.Access)
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
	for _, status := range failureStatuses(rt.method, op) {
		oc.AddRespStructure(Problem{}, problemResponse(status, failureText[status]))
	}
	oc.AddRespStructure(Problem{}, func(cu *openapi.ContentUnit) {
		problemResponse(0, "The request failed; the problem document says why.")(cu)
		cu.IsDefault = true
	})
	return r.AddOperation(oc)
}

func problemResponse(status int, description string) openapi.ContentOption {
	return func(cu *openapi.ContentUnit) {
		cu.HTTPStatus = status
		cu.ContentType = ProblemContentType
		cu.Description = description
	}
}

// accessSecurity is each access level's security requirements: an empty
// requirement lets anonymous callers in.
var accessSecurity = map[string][]map[string][]string{
	AccessPublic:  {{}},
	AccessOptions: {{}, {"bearer": {}}, {"cookie": {}}},
	AccessUser:    {{"bearer": {}}, {"cookie": {}}},
	AccessAdmin:   {{"bearer": {}}, {"cookie": {}}},
}

var failureText = map[int]string{
	http.StatusBadRequest:            "The body is empty, malformed or holds more than one JSON value.",
	http.StatusUnauthorized:          "No valid session: sign in and send the bearer token or the session cookie.",
	http.StatusForbidden:             "The session's role may not do this, or a browser sent this change from another origin.",
	http.StatusNotFound:              "Nothing with this id that the caller may see.",
	http.StatusConflict:              "The request conflicts with the current state; the detail (and errors) say how.",
	http.StatusRequestEntityTooLarge: "The body is larger than the server accepts.",
	http.StatusUnsupportedMediaType:  "The body is not sent as application/json.",
	http.StatusUnprocessableEntity:   "A value breaks a rule: errors name each field and rule.",
	http.StatusTooManyRequests:       "Too many attempts; retry after the Retry-After header's seconds.",
	http.StatusServiceUnavailable:    "A part of the shop cannot answer right now; retry later.",
}

// failureStatuses derives what a route can refuse from its Op: a JSON body
// can be malformed (400), too large (413), not JSON (415) or break a rule
// (422), as can query and header parameters (422); an id in the path can
// name nothing (404); signed-in routes refuse anonymous callers (401) and
// admin routes other roles (403), and an unsafe method is refused (403) when
// a browser sends it from another origin. Errors adds what only the route
// knows.
func failureStatuses(method string, op *Op) []int {
	var out []int
	in := inputOf(op.Input)
	if in.body {
		out = append(out, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	if in.query || in.header {
		out = append(out, http.StatusUnprocessableEntity)
	}
	if in.path {
		out = append(out, http.StatusNotFound)
	}
	switch op.Access {
	case AccessUser:
		out = append(out, http.StatusUnauthorized)
	case AccessAdmin:
		out = append(out, http.StatusUnauthorized, http.StatusForbidden)
	}
	if !safeMethod(method) {
		out = append(out, http.StatusForbidden)
	}
	out = append(out, op.Errors...)
	slices.Sort(out)
	return slices.Compact(out)
}

// input says where an Op's Input puts its fields.
type input struct{ body, path, query, header bool }

func inputOf(v any) input {
	var in input
	if v == nil {
		return in
	}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for f := range t.Fields() {
			switch {
			case f.Anonymous && f.Tag == "":
				walk(f.Type)
			case f.Tag.Get("path") != "":
				in.path = true
			case f.Tag.Get("query") != "":
				in.query = true
			case f.Tag.Get("header") != "":
				in.header = true
			case f.Tag.Get("json") != "" && f.Tag.Get("json") != "-":
				in.body = true
			}
		}
	}
	walk(reflect.TypeOf(v))
	return in
}

func ptr[T any](v T) *T { return &v }

func inResponse(rc *jsonschema.ReflectContext) bool {
	oc, ok := openapi.OperationCtx(rc)
	return ok && oc.IsProcessingResponse()
}

// strictResponses makes response schemas say what the server promises:
// every field without omitempty is always present, and no other field is.
// Request bodies allow no other field either (Bind refuses unknown ones);
// which of theirs are required is what Bind's validator enforces
// (validatedRequests).
func strictResponses(r *jsonschema.Reflector) {
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
			if p.Processed && len(p.Schema.Properties) > 0 && p.Schema.AdditionalProperties == nil {
				p.Schema.AdditionalProperties = (&jsonschema.SchemaOrBool{}).WithTypeBoolean(false)
			}
			return false, nil
		}),
	)
}

// namedByOwner names the schema of a type declared in an internal package
// after the package that owns the internal tree, as if it were declared
// there: a module's HTTP request structs in modules/catalog/internal/rest
// are Catalog…, like its public DTOs, not Rest… (which every module's
// handlers would share).
func namedByOwner(r *jsonschema.Reflector) {
	r.DefaultOptions = append(r.DefaultOptions,
		jsonschema.InterceptDefName(func(t reflect.Type, name string) string {
			if t == reflect.TypeFor[Problem]() {
				// Declared in platform/problem since internal endpoints
				// share it; the schema keeps the name clients know.
				return "HttpapiProblem"
			}
			owner, _, internal := strings.Cut(t.PkgPath(), "/internal/")
			if !internal || name == "" {
				return name
			}
			base := path.Base(t.PkgPath())
			rest, ok := strings.CutPrefix(strings.ToLower(name), strings.ToLower(base))
			if !ok {
				return name
			}
			prefix := path.Base(owner)
			return strings.ToUpper(prefix[:1]) + prefix[1:] + name[len(name)-len(rest):]
		}))
}

// validatedRequests makes request body schemas say what Bind's validator
// enforces, read from the same `validate` tags: a required field is in the
// schema's required list and never null (a null leaves a Go field at its
// zero value, which the validator refuses); min and max bound a string's
// length or a number. A rule without a schema counterpart fails the build
// of the description, so the two cannot drift apart silently.
func validatedRequests(r *jsonschema.Reflector) {
	r.DefaultOptions = append(r.DefaultOptions,
		jsonschema.InterceptProp(func(p jsonschema.InterceptPropParams) error {
			rules := p.Field.Tag.Get("validate")
			if !p.Processed || rules == "" || inResponse(p.Context) {
				return nil
			}
			for rule := range strings.SplitSeq(rules, ",") {
				if err := applyRule(p, rule); err != nil {
					return fmt.Errorf("field %s: %w", p.Name, err)
				}
			}
			return nil
		}),
	)
}

func applyRule(p jsonschema.InterceptPropParams, rule string) error {
	name, arg, _ := strings.Cut(rule, "=")
	kind := p.Field.Type.Kind()
	if kind == reflect.Pointer {
		kind = p.Field.Type.Elem().Kind()
	}
	switch name {
	case "required":
		if !slices.Contains(p.ParentSchema.Required, p.Name) {
			p.ParentSchema.Required = append(p.ParentSchema.Required, p.Name)
		}
		notNull(p.PropertySchema)
		return nil
	case "min", "max":
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return fmt.Errorf("validate rule %q: %w", rule, err)
		}
		switch {
		case kind == reflect.String && name == "min":
			p.PropertySchema.WithMinLength(n)
		case kind == reflect.String:
			p.PropertySchema.WithMaxLength(n)
		case kind >= reflect.Int && kind <= reflect.Float64 && name == "min":
			p.PropertySchema.WithMinimum(float64(n))
		case kind >= reflect.Int && kind <= reflect.Float64:
			p.PropertySchema.WithMaximum(float64(n))
		default:
			return fmt.Errorf("validate rule %q on a %s has no schema counterpart", rule, kind)
		}
		return nil
	}
	return fmt.Errorf("validate rule %q has no schema counterpart; teach validatedRequests it", rule)
}

// notNull takes null out of a schema's types (or its anyOf).
func notNull(s *jsonschema.Schema) {
	if s.Type != nil && len(s.Type.SliceOfSimpleTypeValues) > 0 {
		types := slices.DeleteFunc(slices.Clone(s.Type.SliceOfSimpleTypeValues), func(t jsonschema.SimpleType) bool { return t == jsonschema.Null })
		if len(types) == 1 {
			s.WithType(types[0].Type())
		} else {
			s.Type.SliceOfSimpleTypeValues = types
		}
	}
	s.AnyOf = slices.DeleteFunc(s.AnyOf, func(o jsonschema.SchemaOrBool) bool {
		return o.TypeObject != nil && o.TypeObject.HasType(jsonschema.Null) && o.TypeObject.Type.SimpleTypes != nil
	})
	if len(s.AnyOf) == 1 && s.AnyOf[0].TypeObject != nil && s.AnyOf[0].TypeObject.Ref != nil {
		s.Ref, s.AnyOf = s.AnyOf[0].TypeObject.Ref, nil
	}
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
