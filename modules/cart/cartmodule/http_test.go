package cartmodule_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/cart/cartmodule"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/auth/authtest"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/metrics"
)

type response struct {
	status int
	ctype  string
	body   map[string]any
}

func serve(t *testing.T, s *shop, m *cartmodule.Module, users authtest.Tokens) func(token, method, path, body string) response {
	t.Helper()
	srv := httpapi.New(s.cfg, discard, health.NewState(time.Second), metrics.New(), users, nil)
	m.Routes(srv.Router("cart"))
	return func(token, method, path, body string) response {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		srv.Echo.ServeHTTP(rec, req)
		out := response{status: rec.Code, ctype: rec.Header().Get("Content-Type")}
		if rec.Body.Len() > 0 {
			if err := json.Unmarshal(rec.Body.Bytes(), &out.body); err != nil {
				t.Fatalf("%s %s: body %q is not a JSON object", method, path, rec.Body.String())
			}
		}
		return out
	}
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

func wantCart(t *testing.T, r response, userID string, quantities ...float64) []any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %v", r.status, r.body)
	}
	for _, k := range []string{"user_id", "items", "total", "stale", "updated_at"} {
		if _, ok := r.body[k]; !ok {
			t.Fatalf("cart %v lacks %q", r.body, k)
		}
	}
	items, _ := r.body["items"].([]any)
	if r.body["user_id"] != userID || len(items) != len(quantities) {
		t.Fatalf("cart %v, want %d lines of user %s", r.body, len(quantities), userID)
	}
	for i, q := range quantities {
		if got := items[i].(map[string]any)["quantity"]; got != q {
			t.Fatalf("line %d quantity %v, want %v", i, got, q)
		}
	}
	return items
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ada, bob := uuid.NewString(), uuid.NewString()
	users := authtest.Tokens{
		"ada": {UserID: ada, Role: auth.RoleCustomer},
		"bob": {UserID: bob, Role: auth.RoleCustomer},
	}
	do := serve(t, s, s.cart, users)
	mug := s.product(t, 1250, "EUR")
	s.stock(t, mug, 10)
	add := `{"product_id":"` + mug + `","quantity":2}`

	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/cart", ""}, {"DELETE", "/api/cart", ""}, {"POST", "/api/cart/items", add},
		{"PUT", "/api/cart/items/" + mug, `{"quantity":1}`}, {"DELETE", "/api/cart/items/" + mug, ""},
	} {
		wantProblem(t, do("", r.method, r.path, r.body), http.StatusUnauthorized, "")
		wantProblem(t, do("stolen", r.method, r.path, r.body), http.StatusUnauthorized, "")
	}

	wantCart(t, do("ada", "GET", "/api/cart", ""), ada)
	items := wantCart(t, do("ada", "POST", "/api/cart/items", add), ada, 2)
	line := items[0].(map[string]any)
	for k, want := range map[string]any{
		"product_id": mug, "unit_price": map[string]any{"amount": 1250.0, "currency": "EUR"},
		"line_total": map[string]any{"amount": 2500.0, "currency": "EUR"}, "available": 10.0,
		"in_stock": true, "stale": false, "unavailable": false,
	} {
		if b, _ := json.Marshal(line[k]); string(b) != mustJSON(t, want) {
			t.Errorf("line %s = %s, want %s", k, b, mustJSON(t, want))
		}
	}

	// A client cannot set a price or anything else the cart does not take.
	wantProblem(t, do("ada", "POST", "/api/cart/items", `{"product_id":"`+mug+`","quantity":1,"unit_price":1}`), 422, "unit_price")
	wantProblem(t, do("ada", "POST", "/api/cart/items", `{"product_id":"`+mug+`"}`), 422, "quantity")
	wantProblem(t, do("ada", "POST", "/api/cart/items", `{"quantity":1}`), 422, "product_id")
	wantProblem(t, do("ada", "POST", "/api/cart/items", `{"product_id":"`+mug+`","quantity":"2"}`), 422, "quantity")
	wantProblem(t, do("ada", "POST", "/api/cart/items", `{"product_id":"`+mug+`","quantity":98}`), 422, "quantity")
	wantProblem(t, do("ada", "POST", "/api/cart/items", `{"product_id":"`+uuid.NewString()+`","quantity":1}`), 404, "product_id")
	wantProblem(t, do("ada", "POST", "/api/cart/items", `{"product_id":"`+s.product(t, 1, "USD")+`","quantity":1}`), 409, "product_id")
	wantProblem(t, do("ada", "PUT", "/api/cart/items/"+mug, `{"quantity":100}`), 422, "quantity")
	wantProblem(t, do("ada", "PUT", "/api/cart/items/"+mug, `{"quantity":1,"price":1}`), 422, "price")
	wantProblem(t, do("ada", "PUT", "/api/cart/items/"+uuid.NewString(), `{"quantity":1}`), 404, "product_id")

	wantCart(t, do("ada", "PUT", "/api/cart/items/"+mug, `{"quantity":5}`), ada, 5)
	// Bob's requests name Ada's product but reach only Bob's cart.
	wantCart(t, do("bob", "GET", "/api/cart", ""), bob)
	wantProblem(t, do("bob", "PUT", "/api/cart/items/"+mug, `{"quantity":1}`), 404, "product_id")
	wantCart(t, do("bob", "DELETE", "/api/cart/items/"+mug, ""), bob)
	if r := do("bob", "DELETE", "/api/cart", ""); r.status != http.StatusNoContent {
		t.Fatalf("bob's clear: %d %v", r.status, r.body)
	}
	wantCart(t, do("ada", "GET", "/api/cart", ""), ada, 5)

	// With the catalog down the cart still answers 200, marked stale.
	down, err := cartmodule.NewWithNeighbours(context.Background(), s.dbs, discard, s.cfg,
		failingPrices,
		fakeStock{available: func(context.Context, []string) (map[string]int, error) { return nil, errDown }})
	if err != nil {
		t.Fatal(err)
	}
	doDown := serve(t, s, down, users)
	r := doDown("ada", "GET", "/api/cart", "")
	if items := wantCart(t, r, ada, 5); r.body["stale"] != true || items[0].(map[string]any)["stale"] != true {
		t.Fatalf("cart with the catalog down: %v, want stale", r.body)
	}
	wantProblem(t, doDown("ada", "POST", "/api/cart/items", add), http.StatusServiceUnavailable, "")

	wantCart(t, do("ada", "DELETE", "/api/cart/items/"+mug, ""), ada)
	wantCart(t, do("ada", "POST", "/api/cart/items", add), ada, 2)
	if r := do("ada", "DELETE", "/api/cart", ""); r.status != http.StatusNoContent || r.body != nil {
		t.Fatalf("clear: %d %v, want 204 without a body", r.status, r.body)
	}
	wantCart(t, do("ada", "GET", "/api/cart", ""), ada)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
