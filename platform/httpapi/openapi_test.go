package httpapi_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

type widgetInput struct {
	ID    string  `path:"id"`
	Limit int     `query:"limit" minimum:"1" maximum:"100"`
	Key   string  `header:"Idempotency-Key"`
	Name  string  `json:"name" validate:"required,max=40"`
	Count *int    `json:"count" validate:"required,min=1"`
	Note  *string `json:"note"`
}

type widget struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func TestOpenAPIDescribesDocumentedRoutes(t *testing.T) {
	t.Parallel()
	srv := httpapi.New(testConfig(t, nil), slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), nil, nil)
	r := srv.Router("widgets")
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	r.PUT("/api/widgets/:id", ok).Doc(httpapi.Op{
		ID: "replaceWidget", Summary: "Replace a widget", Access: httpapi.AccessAdmin, Input: widgetInput{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: widget{}}},
	})
	r.GET("/api/widgets", ok)
	if got := srv.Undocumented(); !slices.Equal(got, []string{"GET /api/widgets"}) {
		t.Errorf("Undocumented = %v", got)
	}
	raw, err := srv.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Tags       []string         `json:"tags"`
			Parameters []map[string]any `json:"parameters"`
			Security   []map[string]any `json:"security"`
			Responses  map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI[:3] != "3.1" {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	op, found := doc.Paths["/api/widgets/{id}"]["put"]
	if !found {
		t.Fatalf("paths = %s", raw)
	}
	if len(op.Parameters) != 3 || len(op.Security) == 0 || !slices.Equal(op.Tags, []string{"widgets"}) {
		t.Errorf("operation = %+v", op)
	}
	if _, ok := op.Responses["200"].Content["application/json"]; !ok {
		t.Errorf("200 response = %+v", op.Responses["200"])
	}
	if _, ok := op.Responses["default"].Content[httpapi.ProblemContentType]; !ok {
		t.Errorf("default response = %+v", op.Responses["default"])
	}
	var schemas struct {
		Components struct {
			Schemas map[string]struct {
				Required             []string `json:"required"`
				AdditionalProperties *bool    `json:"additionalProperties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &schemas); err != nil {
		t.Fatal(err)
	}
	w := schemas.Components.Schemas["HttpapiTestWidget"]
	if !slices.Equal(w.Required, []string{"id", "name"}) || w.AdditionalProperties == nil || *w.AdditionalProperties {
		t.Errorf("response schema = %+v, want every field required and no others allowed", w)
	}
	if _, found := schemas.Components.Schemas["HttpapiProblem"]; !found {
		t.Error("the problem document's schema is not HttpapiProblem, the name clients know")
	}
	if _, found := doc.Paths["/api/widgets"]; found {
		t.Error("an undocumented route is in the description")
	}
	if _, found := doc.Paths[httpapi.OpenAPIPath]["get"]; !found {
		t.Error("the description does not describe itself")
	}
}

// openAPIOf documents one route and returns the description, parsed.
func openAPIOf(t *testing.T, method, path string, op httpapi.Op) (map[string]any, error) {
	t.Helper()
	srv := httpapi.New(testConfig(t, nil), slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), nil, nil)
	srv.Router("widgets").Add(method, path, func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }).Doc(op)
	raw, err := srv.OpenAPI()
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc, nil
}

func at(doc any, keys ...string) any {
	for _, k := range keys {
		m, _ := doc.(map[string]any)
		doc = m[k]
	}
	return doc
}

func keysOf(m any) []string {
	var out []string
	for k := range m.(map[string]any) {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestOpenAPIRequestSchemasFollowTheValidator(t *testing.T) {
	t.Parallel()
	doc, err := openAPIOf(t, http.MethodPut, "/api/widgets/:id", httpapi.Op{ID: "replaceWidget", Access: httpapi.AccessAdmin, Input: widgetInput{}})
	if err != nil {
		t.Fatal(err)
	}
	body := at(doc, "components", "schemas", "HttpapiTestWidgetInput").(map[string]any)
	if got := fmt.Sprint(body["required"]); got != "[name count]" {
		t.Errorf("required = %s, want the fields with validate:\"required\"", got)
	}
	props := body["properties"].(map[string]any)
	for name, want := range map[string]string{
		"name":  `{"maxLength":40,"type":"string"}`,
		"count": `{"minimum":1,"type":"integer"}`, // required: null is refused
		"note":  `{"type":["null","string"]}`,     // optional: null leaves it unset
	} {
		got, _ := json.Marshal(props[name])
		if string(got) != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if body["additionalProperties"] != false {
		t.Errorf("additionalProperties = %v, want false (Bind refuses unknown fields)", body["additionalProperties"])
	}

	// A rule the description cannot express fails the build of the
	// description instead of drifting from it.
	type unknownRule struct {
		Email string `json:"email" validate:"required,email"`
	}
	if _, err := openAPIOf(t, http.MethodPost, "/api/widgets", httpapi.Op{ID: "createWidget", Access: httpapi.AccessAdmin, Input: unknownRule{}}); err == nil || !strings.Contains(err.Error(), "email") {
		t.Errorf("OpenAPI with validate:\"email\" = %v, want an error naming the rule", err)
	}
}

func TestOpenAPIOperationsSayWhoMayCallAndHowTheyFail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, path string
		op                 httpapi.Op
		security, statuses string
	}{
		{"admin with a body, parameters and an id", http.MethodPut, "/api/widgets/:id",
			httpapi.Op{Access: httpapi.AccessAdmin, Input: widgetInput{}},
			`[{"bearer":[]},{"cookie":[]}]`, "[400 401 403 404 413 415 422 default]"},
		{"user with a query and a conflict", http.MethodGet, "/api/widgets",
			httpapi.Op{Access: httpapi.AccessUser, Input: struct {
				After string `query:"after"`
			}{}, Errors: []int{http.StatusConflict}},
			`[{"bearer":[]},{"cookie":[]}]`, "[401 409 422 default]"},
		{"optional", http.MethodGet, "/api/widgets", httpapi.Op{Access: httpapi.AccessOptions},
			`[{},{"bearer":[]},{"cookie":[]}]`, "[default]"},
		// Every change can be refused as cross-origin.
		{"public, rate limited", http.MethodPost, "/api/widgets", httpapi.Op{Access: httpapi.AccessPublic, Errors: []int{http.StatusTooManyRequests}},
			`[{}]`, "[403 429 default]"},
		{"user, delete", http.MethodDelete, "/api/widgets", httpapi.Op{Access: httpapi.AccessUser},
			`[{"bearer":[]},{"cookie":[]}]`, "[401 403 default]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.op.ID = "widgetOperation"
			doc, err := openAPIOf(t, tc.method, tc.path, tc.op)
			if err != nil {
				t.Fatal(err)
			}
			op := at(doc, "paths", httpapi.OpenAPIPathOf(tc.path), strings.ToLower(tc.method))
			if got := at(op, "operationId"); got != "widgetOperation" {
				t.Errorf("operationId = %v", got)
			}
			if got := at(op, httpapi.AccessExtension); got != tc.op.Access {
				t.Errorf("%s = %v, want %s", httpapi.AccessExtension, got, tc.op.Access)
			}
			if got, _ := json.Marshal(at(op, "security")); string(got) != tc.security {
				t.Errorf("security = %s, want %s", got, tc.security)
			}
			responses := at(op, "responses").(map[string]any)
			var failures []string
			for _, k := range keysOf(responses) {
				if k == "default" || k >= "400" {
					failures = append(failures, k)
					if at(responses[k], "content", httpapi.ProblemContentType, "schema") == nil {
						t.Errorf("%s has no problem schema: %v", k, responses[k])
					}
				}
			}
			if got := fmt.Sprint(failures); got != tc.statuses {
				t.Errorf("failure responses = %s, want %s", got, tc.statuses)
			}
			if got, _ := json.Marshal(doc["servers"]); !strings.Contains(string(got), `"url":"/"`) {
				t.Errorf("servers = %s, want the serving host", got)
			}
		})
	}
	if _, err := openAPIOf(t, http.MethodGet, "/api/widgets", httpapi.Op{ID: "listWidgets", Access: "everyone"}); err == nil {
		t.Error("an unknown access level was accepted")
	}
}
