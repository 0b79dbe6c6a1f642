package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

type widgetInput struct {
	ID    string `path:"id"`
	Limit int    `query:"limit" minimum:"1" maximum:"100"`
	Key   string `header:"Idempotency-Key"`
	Name  string `json:"name" required:"true"`
}

type widget struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func TestOpenAPIDescribesDocumentedRoutes(t *testing.T) {
	t.Parallel()
	srv := httpapi.New(testConfig(t, nil), slog.New(slog.DiscardHandler), health.NewState(time.Second), metrics.New(), nil)
	r := srv.Router("widgets")
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	r.PUT("/api/widgets/:id", ok).Doc(httpapi.Op{
		Summary: "Replace a widget", Access: httpapi.AccessAdmin, Input: widgetInput{},
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
	if _, found := doc.Paths["/api/widgets"]; found {
		t.Error("an undocumented route is in the description")
	}
	if _, found := doc.Paths[httpapi.OpenAPIPath]["get"]; !found {
		t.Error("the description does not describe itself")
	}
}
