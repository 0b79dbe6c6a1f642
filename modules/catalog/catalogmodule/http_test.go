package catalogmodule

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/modules/catalog/internal/rest"
	"github.com/shopmonolith/shop/modules/catalog/internal/store"
	"github.com/shopmonolith/shop/platform/auth/authtest"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

func newServer(t *testing.T) http.Handler {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "catalog")
	db, err := dbs.Open(context.Background(), "catalog")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv := httpapi.New(cfg, log, health.NewState(time.Second), metrics.New(), authtest.Roles(), nil)
	noEvents := func(context.Context, *gorm.DB, ...any) error { return nil }
	svc := domain.NewService(store.New(db, noEvents), func() time.Time { return time.Now().UTC() }, nil)
	rest.Register(srv.Router("catalog"), &api{svc: svc})
	return srv.Echo
}

type response struct {
	status int
	ctype  string
	body   map[string]any
	list   []any
}

func do(t *testing.T, h http.Handler, token, method, path, body string) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := response{status: rec.Code, ctype: rec.Header().Get("Content-Type")}
	raw := rec.Body.Bytes()
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	// A list is {"items": [...], "next_cursor": "..."}: both keys, always.
	if items, ok := out.body["items"].([]any); ok {
		if _, hasCursor := out.body["next_cursor"]; !hasCursor {
			t.Fatalf("%s %s: list without next_cursor: %s", method, path, raw)
		}
		out.list = items
	}
	return out
}

func wantProblem(t *testing.T, r response, status int, field string) {
	t.Helper()
	if r.status != status || r.ctype != httpapi.ProblemContentType {
		t.Fatalf("status %d (%s), want %d problem: %v", r.status, r.ctype, status, r.body)
	}
	if field == "" {
		return
	}
	fields, _ := r.body["errors"].([]any)
	for _, f := range fields {
		if f.(map[string]any)["field"] == field {
			return
		}
	}
	t.Fatalf("problem %v does not name field %q", r.body, field)
}

func TestProductRoutes(t *testing.T) {
	t.Parallel()
	h := newServer(t)
	cat := do(t, h, "admin", "POST", "/api/categories", `{"slug":"mugs","name":"Mugs"}`)
	if cat.status != http.StatusCreated {
		t.Fatalf("create category: %d %v", cat.status, cat.body)
	}
	catID := cat.body["id"].(string)
	body := `{"sku":"mug-1","name":"Enamel Mug","description":"Blue","price_minor":1200,"currency":"EUR","category_id":"` + catID + `"}`

	wantProblem(t, do(t, h, "", "POST", "/api/products", body), http.StatusUnauthorized, "")
	wantProblem(t, do(t, h, "customer", "POST", "/api/products", body), http.StatusForbidden, "")

	created := do(t, h, "admin", "POST", "/api/products", body)
	if created.status != http.StatusCreated || created.body["sku"] != "MUG-1" || created.body["deal"] != nil {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	if _, ok := created.body["deal"]; !ok {
		t.Fatal(`"deal" must be present (null) when no deal applies`)
	}
	id := created.body["id"].(string)

	wantProblem(t, do(t, h, "admin", "POST", "/api/products", strings.Replace(body, "mug-1", "MUG-1", 1)), http.StatusConflict, "sku")
	wantProblem(t, do(t, h, "admin", "POST", "/api/products", strings.Replace(body, "1200", "19.99", 1)), http.StatusUnprocessableEntity, "price_minor")
	wantProblem(t, do(t, h, "admin", "POST", "/api/products", strings.Replace(body, "1200", "-1", 1)), http.StatusUnprocessableEntity, "price_minor")
	wantProblem(t, do(t, h, "admin", "POST", "/api/products", `{"sku":"x","name":"x","price_minor":1,"currency":"EUR","colour":"red"}`), http.StatusUnprocessableEntity, "colour")
	wantProblem(t, do(t, h, "admin", "POST", "/api/products", strings.NewReplacer(catID, "0195a2b0-0000-7000-8000-00000000abcd", "mug-1", "mug-2").Replace(body)), http.StatusUnprocessableEntity, "category_id")

	if r := do(t, h, "", "GET", "/api/products/"+id, ""); r.status != http.StatusOK || r.body["id"] != id {
		t.Fatalf("get: %d %v", r.status, r.body)
	}
	if r := do(t, h, "", "GET", "/api/products/sku/mug-1", ""); r.status != http.StatusOK || r.body["id"] != id {
		t.Fatalf("get by sku: %d %v", r.status, r.body)
	}
	wantProblem(t, do(t, h, "", "GET", "/api/products/not-a-uuid", ""), http.StatusNotFound, "")
	wantProblem(t, do(t, h, "", "GET", "/api/products/0195a2b0-0000-7000-8000-00000000dead", ""), http.StatusNotFound, "")
	wantProblem(t, do(t, h, "", "GET", "/api/products/sku/NOPE", ""), http.StatusNotFound, "")

	patched := do(t, h, "admin", "PATCH", "/api/products/"+id, `{"price_minor":1500,"name":"Big Mug"}`)
	if patched.status != http.StatusOK || patched.body["name"] != "Big Mug" || patched.body["description"] != "Blue" {
		t.Fatalf("patch: %d %v", patched.status, patched.body)
	}
	wantProblem(t, do(t, h, "admin", "PATCH", "/api/products/"+id, `{"currency":"euro"}`), http.StatusUnprocessableEntity, "currency")

	if r := do(t, h, "admin", "DELETE", "/api/products/"+id, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %v", r.status, r.body)
	}
	wantProblem(t, do(t, h, "", "GET", "/api/products/"+id, ""), http.StatusNotFound, "")
	if r := do(t, h, "admin", "GET", "/api/products/"+id, ""); r.status != http.StatusOK || r.body["active"] != false {
		t.Fatalf("admin get of inactive product: %d %v", r.status, r.body)
	}
}

func TestListRoute(t *testing.T) {
	t.Parallel()
	h := newServer(t)
	for _, sku := range []string{"a-1", "a-2", "a-3"} {
		body := `{"sku":"` + sku + `","name":"Copper Kettle ` + sku + `","price_minor":100,"currency":"EUR"}`
		if r := do(t, h, "admin", "POST", "/api/products", body); r.status != http.StatusCreated {
			t.Fatalf("create: %d %v", r.status, r.body)
		}
	}
	first := do(t, h, "", "GET", "/api/products?limit=2", "")
	items, _ := first.body["items"].([]any)
	cursor, _ := first.body["next_cursor"].(string)
	if first.status != http.StatusOK || len(items) != 2 || cursor == "" {
		t.Fatalf("first page: %d %v", first.status, first.body)
	}
	second := do(t, h, "", "GET", "/api/products?limit=2&after="+cursor, "")
	items, _ = second.body["items"].([]any)
	if more, _ := second.body["next_cursor"].(string); len(items) != 1 || more != "" {
		t.Fatalf("second page: %v", second.body)
	}
	if r := do(t, h, "", "GET", "/api/products?q=kettle", ""); len(r.body["items"].([]any)) != 3 {
		t.Fatalf("search: %v", r.body)
	}
	empty := do(t, h, "", "GET", "/api/products?q=teapot", "")
	if items, ok := empty.body["items"].([]any); !ok || len(items) != 0 {
		t.Fatalf("empty search must give items: [], got %v", empty.body)
	}
	for _, tt := range []struct{ query, field string }{
		{"limit=101", "limit"}, {"limit=0", "limit"}, {"limit=x", "limit"},
		{"after=%21%21", "after"}, {"category=tea", "category"}, {"include_inactive=maybe", "include_inactive"},
	} {
		wantProblem(t, do(t, h, "", "GET", "/api/products?"+tt.query, ""), http.StatusUnprocessableEntity, tt.field)
	}
}

func TestCategoryAndDealRoutes(t *testing.T) {
	t.Parallel()
	h := newServer(t)
	cat := do(t, h, "admin", "POST", "/api/categories", `{"slug":"tea","name":"Tea"}`)
	catID, _ := cat.body["id"].(string)
	wantProblem(t, do(t, h, "admin", "POST", "/api/categories", `{"slug":"tea","name":"Tea 2"}`), http.StatusConflict, "slug")
	wantProblem(t, do(t, h, "admin", "POST", "/api/categories", `{"slug":"Tea!","name":"Tea"}`), http.StatusUnprocessableEntity, "slug")
	if r := do(t, h, "admin", "PATCH", "/api/categories/"+catID, `{"name":"Teas"}`); r.status != http.StatusOK || r.body["name"] != "Teas" {
		t.Fatalf("patch category: %d %v", r.status, r.body)
	}
	prod := do(t, h, "admin", "POST", "/api/products", `{"sku":"t-1","name":"Sencha","price_minor":1000,"currency":"EUR","category_id":"`+catID+`"}`)
	prodID, _ := prod.body["id"].(string)

	start := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	end := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	deal := do(t, h, "admin", "POST", "/api/deals", `{"name":"Tea time","kind":"fixed","value":250,"currency":"EUR","category_id":"`+catID+`","starts_at":"`+start+`","ends_at":"`+end+`"}`)
	if deal.status != http.StatusCreated {
		t.Fatalf("create deal: %d %v", deal.status, deal.body)
	}
	got := do(t, h, "", "GET", "/api/products/"+prodID, "")
	eff, _ := got.body["effective_price"].(map[string]any)
	applied, _ := got.body["deal"].(map[string]any)
	if eff["amount"] != 750.0 || applied["id"] != deal.body["id"] {
		t.Fatalf("priced product: %v", got.body)
	}
	wantProblem(t, do(t, h, "admin", "POST", "/api/deals", `{"name":"x","kind":"percent","value":10,"product_id":"`+prodID+`","starts_at":"yesterday","ends_at":"`+end+`"}`), http.StatusUnprocessableEntity, "starts_at")
	wantProblem(t, do(t, h, "admin", "POST", "/api/deals", `{"name":"x","kind":"bogo","value":10,"product_id":"`+prodID+`","starts_at":"`+start+`","ends_at":"`+end+`"}`), http.StatusUnprocessableEntity, "kind")
	if r := do(t, h, "", "GET", "/api/deals", ""); r.status != http.StatusOK || len(r.list) != 1 {
		t.Fatalf("deals: %d %v", r.status, r.list)
	}
	dealID, _ := deal.body["id"].(string)
	later := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	if r := do(t, h, "admin", "PATCH", "/api/deals/"+dealID, `{"ends_at":"`+later+`","value":300}`); r.status != http.StatusOK || r.body["value"] != 300.0 || r.body["ends_at"] != later {
		t.Fatalf("patch deal: %d %v", r.status, r.body)
	}
	wantProblem(t, do(t, h, "admin", "PATCH", "/api/deals/"+dealID, `{"ends_at":"soon"}`), http.StatusUnprocessableEntity, "ends_at")
	wantProblem(t, do(t, h, "admin", "PATCH", "/api/deals/"+dealID, `{"ends_at":"`+start+`"}`), http.StatusUnprocessableEntity, "ends_at")
	if r := do(t, h, "admin", "DELETE", "/api/deals/"+dealID, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete deal: %d", r.status)
	}
	if r := do(t, h, "admin", "DELETE", "/api/categories/"+catID, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete category: %d", r.status)
	}
	if r := do(t, h, "", "GET", "/api/categories", ""); r.status != http.StatusOK || len(r.list) != 0 {
		t.Fatalf("categories after deactivation: %d %v", r.status, r.list)
	}
	if r := do(t, h, "admin", "GET", "/api/categories?include_inactive=true", ""); len(r.list) != 1 {
		t.Fatalf("admin categories: %v", r.list)
	}
	r := httptest.NewRequest("POST", "/api/categories", strings.NewReader(`{"slug":"x","name":"x"}`))
	r.Header.Set("Authorization", "Bearer admin")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusUnsupportedMediaType || rec.Header().Get("Content-Type") != httpapi.ProblemContentType {
		t.Fatalf("no content type: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}
