package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The walk a real customer and admin take, on the real binary.
func TestEndToEndGoldenPath(t *testing.T) {
	t.Parallel()
	s := startShop(t)

	s.must(http.StatusOK, s.call("GET", "/healthz", "", nil))
	s.must(http.StatusOK, s.call("GET", "/readyz", "", nil))

	customer := s.register("ada@example.com")
	me := s.must(http.StatusOK, s.call("GET", "/api/identity/me", customer, nil)).object(t)
	if me["email"] != "ada@example.com" || me["role"] != "customer" {
		t.Fatalf("me = %v", me)
	}

	admin := s.login(adminEmail, adminPassword)
	cat := s.must(http.StatusCreated, s.call("POST", "/api/categories", admin, map[string]any{
		"slug": "coffee", "name": "Coffee"})).object(t)
	prod := s.must(http.StatusCreated, s.call("POST", "/api/products", admin, map[string]any{
		"sku": "BEAN-ETH-1", "name": "Ethiopian Yirgacheffe beans", "description": "Floral, citrus, 250 g",
		"price_minor": 1500, "currency": "EUR", "category_id": cat["id"]})).object(t)
	now := time.Now().UTC()
	s.must(http.StatusCreated, s.call("POST", "/api/deals", admin, map[string]any{
		"name": "Launch week", "kind": "percent", "value": 20, "product_id": prod["id"],
		"starts_at": now.Add(-time.Minute).Format(time.RFC3339), "ends_at": now.Add(time.Hour).Format(time.RFC3339)}))

	// The customer finds it by listing, by category, by search, by id and by SKU, at the deal price.
	var page struct {
		Items []map[string]any `json:"items"`
	}
	s.must(http.StatusOK, s.call("GET", "/api/products", customer, nil)).json(t, &page)
	if len(page.Items) != 1 || page.Items[0]["id"] != prod["id"] {
		t.Fatalf("list = %v", page.Items)
	}
	s.must(http.StatusOK, s.call("GET", "/api/products?category="+cat["id"].(string), customer, nil)).json(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("category filter = %v", page.Items)
	}
	s.must(http.StatusOK, s.call("GET", "/api/products?q=yirgacheffe", customer, nil)).json(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("search = %v", page.Items)
	}
	s.must(http.StatusOK, s.call("GET", "/api/products?q=teapot", customer, nil)).json(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("search for a missing word found %v", page.Items)
	}
	got := s.must(http.StatusOK, s.call("GET", "/api/products/"+prod["id"].(string), customer, nil)).object(t)
	eff := got["effective_price"].(map[string]any)
	if eff["amount"] != float64(1200) || eff["currency"] != "EUR" || got["deal"] == nil {
		t.Fatalf("product with deal = %v", got)
	}
	bySKU := s.must(http.StatusOK, s.call("GET", "/api/products/sku/BEAN-ETH-1", "", nil)).object(t)
	if bySKU["id"] != prod["id"] {
		t.Fatalf("by sku = %v", bySKU)
	}

	// Logout revokes the session: the old token is refused.
	s.must(http.StatusNoContent, s.call("POST", "/api/identity/logout", customer, nil))
	r := s.must(http.StatusUnauthorized, s.call("GET", "/api/identity/me", customer, nil))
	assertProblem(t, r, http.StatusUnauthorized)

	// Metrics name the module and route that served the requests.
	metrics := string(s.must(http.StatusOK, s.call("GET", "/metrics", "", nil)).Body)
	for _, want := range []string{`module="catalog"`, `route="/api/products/:id"`, `module="identity"`, "shop_http_request_duration_seconds_bucket"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if err := s.stop(); err != nil {
		t.Fatalf("shop did not exit cleanly on SIGTERM: %v", err)
	}
}

func assertProblem(t *testing.T, r response, status int) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want application/problem+json (%s)", ct, r.Body)
	}
	p := r.object(t)
	if p["status"] != float64(status) || p["title"] == "" || p["detail"] == "" || p["type"] == "" {
		t.Fatalf("incomplete problem: %s", r.Body)
	}
	return p
}

// fieldsOf lists the field names a 422 problem complains about.
func fieldsOf(p map[string]any) []string {
	var out []string
	list, _ := p["errors"].([]any)
	for _, e := range list {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// What a user tries first: every bad request is a clear problem+json, never a
// 500, and nothing is half-written.
func TestEndToEndUnhappyPaths(t *testing.T) {
	t.Parallel()
	s := startShop(t)
	admin := s.login(adminEmail, adminPassword)
	customer := s.register("bob@example.com")
	valid := func() map[string]any {
		return map[string]any{"sku": "MUG-1", "name": "Mug", "description": "", "price_minor": 900, "currency": "EUR"}
	}
	with := func(k string, v any) map[string]any {
		m := valid()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	big := fmt.Sprintf(`{"sku":"BIG","name":"Big","description":%q,"price_minor":1,"currency":"EUR"}`, strings.Repeat("x", 70_000))

	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		body       any
		headers    []string
		status     int
		wantFields []string
	}{
		{"malformed JSON", "POST", "/api/products", admin, `{"sku": "A",`, nil, 400, nil},
		{"not JSON at all", "POST", "/api/products", admin, `sku=A`, nil, 400, nil},
		{"empty body", "POST", "/api/products", admin, ``, nil, 400, nil},
		{"wrong type", "POST", "/api/products", admin, with("price_minor", "nine"), nil, 422, []string{"price_minor"}},
		{"fractional price", "POST", "/api/products", admin, with("price_minor", 19.99), nil, 422, []string{"price_minor"}},
		{"negative price", "POST", "/api/products", admin, with("price_minor", -5), nil, 422, []string{"price_minor"}},
		{"missing field", "POST", "/api/products", admin, with("sku", nil), nil, 422, []string{"sku"}},
		{"unknown field", "POST", "/api/products", admin, with("stock", 5), nil, 422, []string{"stock"}},
		{"bad currency", "POST", "/api/products", admin, with("currency", "euro"), nil, 422, []string{"currency"}},
		{"oversized body", "POST", "/api/products", admin, big, nil, 413, nil},
		{"wrong content type", "POST", "/api/products", admin, valid(), []string{"Content-Type: text/plain"}, 415, nil},
		{"no session", "POST", "/api/products", "", valid(), nil, 401, nil},
		{"bogus token", "POST", "/api/products", "not-a-session", valid(), nil, 401, nil},
		{"customer on admin route", "POST", "/api/products", customer, valid(), nil, 403, nil},
		{"customer deactivates", "DELETE", "/api/products/0190a7a2-1c7e-7a51-b3a2-1d5c0a8e7f00", customer, nil, nil, 403, nil},
		{"unknown product", "GET", "/api/products/0190a7a2-1c7e-7a51-b3a2-1d5c0a8e7f00", "", nil, nil, 404, nil},
		{"malformed product id", "GET", "/api/products/not-a-uuid", "", nil, nil, 404, nil},
		{"unknown route", "GET", "/api/nothing-here", "", nil, nil, 404, nil},
		{"wrong method", "PUT", "/api/identity/me", customer, nil, nil, 405, nil},
		{"bad page size", "GET", "/api/products?limit=1000", "", nil, nil, 422, []string{"limit"}},
		{"short password", "POST", "/api/identity/register", "", map[string]any{"email": "c@example.com", "password": "short", "name": "C"}, nil, 422, []string{"password"}},
		{"role cannot be set", "POST", "/api/identity/register", "", map[string]any{"email": "d@example.com", "password": "long enough pass", "name": "D", "role": "admin"}, nil, 422, []string{"role"}},
		{"bad email", "POST", "/api/identity/register", "", map[string]any{"email": "nope", "password": "long enough pass", "name": "E"}, nil, 422, []string{"email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.call(tt.method, tt.path, tt.token, tt.body, tt.headers...)
			p := assertProblem(t, r, tt.status)
			if tt.wantFields != nil {
				got := fieldsOf(p)
				for _, f := range tt.wantFields {
					if !strings.Contains(strings.Join(got, ","), f) {
						t.Errorf("problem names fields %v, want %s: %s", got, f, r.Body)
					}
				}
			}
		})
	}

	// None of the rejected writes left anything behind.
	var page struct {
		Items []map[string]any `json:"items"`
	}
	s.must(http.StatusOK, s.call("GET", "/api/products?include_inactive=true", admin, nil)).json(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("rejected requests wrote products: %v", page.Items)
	}

	// A duplicate SKU is a conflict, and only one product exists.
	s.must(http.StatusCreated, s.call("POST", "/api/products", admin, valid()))
	assertProblem(t, s.call("POST", "/api/products", admin, with("sku", "mug-1")), http.StatusConflict)

	// Unknown email and wrong password give the same answer.
	a := assertProblem(t, s.call("POST", "/api/identity/login", "", map[string]any{"email": "nobody@example.com", "password": "whatever it is"}), 401)
	b := assertProblem(t, s.call("POST", "/api/identity/login", "", map[string]any{"email": "bob@example.com", "password": "whatever it is"}), 401)
	if a["detail"] != b["detail"] {
		t.Fatalf("unknown email says %q, wrong password says %q", a["detail"], b["detail"])
	}
}

// Login attempts are limited per account: the sixth failure is refused with 429.
func TestEndToEndLoginRateLimit(t *testing.T) {
	t.Parallel()
	s := startShop(t, "SHOP_AUTH_LOGIN_PER_ACCOUNT=3")
	s.register("carol@example.com")
	for range 3 {
		assertProblem(t, s.call("POST", "/api/identity/login", "", map[string]any{"email": "carol@example.com", "password": "wrong password!"}), 401)
	}
	r := assertProblem(t, s.call("POST", "/api/identity/login", "", map[string]any{"email": "carol@example.com", "password": "a long enough password"}), 429)
	if r["kind"] != "rate_limited" {
		t.Fatalf("problem = %v", r)
	}
}

// Responses with personal data or a token are kept out of caches: login's
// (the token is in its body), the signed-in user's, and a refused one with
// a stale session; the anonymous catalog stays cacheable.
func TestEndToEndPersonalResponsesAreNotCached(t *testing.T) {
	t.Parallel()
	s := startShop(t)
	s.must(http.StatusAccepted, s.call("POST", "/api/identity/register", "", map[string]any{
		"email": "dora@example.com", "password": "a long enough password", "name": "Dora"}))
	login := s.must(http.StatusOK, s.call("POST", "/api/identity/login", "", map[string]any{"email": "dora@example.com", "password": "a long enough password"}))
	var session struct {
		Token string `json:"token"`
	}
	login.json(t, &session)
	for name, r := range map[string]response{
		"login":             login,
		"me":                s.must(http.StatusOK, s.call("GET", "/api/identity/me", session.Token, nil)),
		"me, stale session": s.call("GET", "/api/identity/me", "revoked-or-forged", nil),
	} {
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s (%d): Cache-Control = %q, want no-store", name, r.Status, got)
		}
	}
	if got := s.must(http.StatusOK, s.call("GET", "/api/products", "", nil)).Header.Get("Cache-Control"); got != "" {
		t.Errorf("anonymous catalog: Cache-Control = %q, want none", got)
	}
}
