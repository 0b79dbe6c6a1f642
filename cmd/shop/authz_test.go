package main

import (
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// Who may call a route, for the authorization matrix: read from the
// access level the API description gives each operation.
const (
	public = "public" // everyone, signed in or not
	self   = "self"   // any signed-in user, on their own things (no ids of others in the path)
	owner  = "owner"  // the owner of the object in the path, or an admin; others get 404
	admin  = "admin"  // admins only; customers get 403
)

// scopeOf turns an operation's access level into the matrix's expectation;
// owned says that the case's path names customer A's object.
func scopeOf(access string, owned bool) (string, bool) {
	switch access {
	case httpapi.AccessPublic, httpapi.AccessOptions:
		return public, true
	case httpapi.AccessAdmin:
		return admin, true
	case httpapi.AccessUser:
		if owned {
			return owner, true
		}
		return self, true
	}
	return "", false
}

type actor struct {
	name, email, password, token string
}

type authzCase struct {
	path    string // with the objects of customer A filled in
	owned   bool   // the path names an object of customer A: B must not reach it
	body    any
	session bool         // the route changes the caller's session: call it with a fresh one
	ends    bool         // the route ends the caller's other sessions: sign in again after it
	before  func(*actor) // readies the caller's own state (a signed-in caller's cart line)
}

// TestAuthorizationMatrix calls every documented route as anonymous,
// customer A, customer B and admin, against objects owned by A. Who may
// call a route is what the API description says (its x-shop-access).
// Anonymous callers get 401 on anything but public routes; customers get
// 403 on admin routes; B gets 404 on A's objects; the allowed callers are
// never refused. A route without a row in this table fails the test.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	s := startShop(t)
	adm := &actor{name: "admin", email: adminEmail, password: adminPassword}
	adm.token = s.login(adm.email, adm.password)
	a := &actor{name: "customer A", email: "a@matrix.example", password: "a long enough password"}
	b := &actor{name: "customer B", email: "b@matrix.example", password: "a long enough password"}
	a.token, b.token = s.register(a.email), s.register(b.email)
	anon := &actor{name: "anonymous"}
	spareUser := s.userID(s.register("spare@matrix.example")) // whose sessions and role the admin routes change

	// A's world: a confirmed order, a cart line and a welcome message.
	product := s.product(adm.token, "MATRIX-1", 1000, 50)
	spare := s.product(adm.token, "MATRIX-2", 1000, 0) // deleted by the matrix
	category := s.must(http.StatusCreated, s.call("POST", "/api/categories", adm.token, map[string]any{"slug": "matrix", "name": "Matrix"})).object(t)["id"].(string)
	spareCategory := s.must(http.StatusCreated, s.call("POST", "/api/categories", adm.token, map[string]any{"slug": "spare", "name": "Spare"})).object(t)["id"].(string)
	now := time.Now().UTC()
	newDeal := func() string {
		return s.must(http.StatusCreated, s.call("POST", "/api/deals", adm.token, map[string]any{
			"name": "Deal", "kind": "percent", "value": 10, "product_id": product,
			"starts_at": now.Add(time.Hour).Format(time.RFC3339), "ends_at": now.Add(2 * time.Hour).Format(time.RFC3339)})).object(t)["id"].(string)
	}
	deal, spareDeal := newDeal(), newDeal()
	s.addToCart(a.token, product, 1)
	var placed order
	s.must(http.StatusCreated, s.checkout(a.token, payments.CardApprove)).json(t, &placed)
	s.awaitOrder(a.token, placed.ID, order.settled)
	s.addToCart(a.token, product, 2)
	aID := s.userID(a.token)
	s.awaitMail(adm.token, aID, "welcome")
	var mail struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	s.must(http.StatusOK, s.call("GET", "/api/notifications/mailbox?recipient="+aID, adm.token, nil)).json(t, &mail)
	message := mail.Items[0].ID
	starts, ends := now.Add(time.Hour).Format(time.RFC3339), now.Add(2*time.Hour).Format(time.RFC3339)

	cases := map[string]authzCase{
		"GET /api/openapi.json": {path: httpapi.OpenAPIPath},
		"POST /api/identity/register": {path: "/api/identity/register", body: func() any {
			return map[string]any{"email": uuid.NewString() + "@matrix.example", "password": "a long enough password", "name": "New"}
		}},
		"POST /api/identity/login":      {path: "/api/identity/login", session: true},
		"POST /api/identity/logout":     {path: "/api/identity/logout", session: true},
		"GET /api/identity/me":          {path: "/api/identity/me"},
		"DELETE /api/identity/sessions": {path: "/api/identity/sessions", session: true, ends: true},
		// The body is the caller's own password, kept (see callAs).
		"PUT /api/identity/password":               {path: "/api/identity/password", session: true, ends: true},
		"DELETE /api/identity/users/{id}/sessions": {path: "/api/identity/users/" + spareUser + "/sessions"},
		"PUT /api/identity/users/{id}/role":        {path: "/api/identity/users/" + spareUser + "/role", body: map[string]any{"role": "customer"}},
		"GET /api/products":                        {path: "/api/products"},
		"GET /api/products/{id}":                   {path: "/api/products/" + product},
		"GET /api/products/sku/{sku}":              {path: "/api/products/sku/MATRIX-1"},
		"POST /api/products": {path: "/api/products", body: func() any {
			return map[string]any{"sku": "M-" + uuid.NewString()[:8], "name": "New", "price_minor": 100, "currency": "EUR"}
		}},
		"PATCH /api/products/{id}":                     {path: "/api/products/" + product, body: map[string]any{"name": "Renamed"}},
		"DELETE /api/products/{id}":                    {path: "/api/products/" + spare},
		"GET /api/categories":                          {path: "/api/categories"},
		"POST /api/categories":                         {path: "/api/categories", body: func() any { return map[string]any{"slug": "c-" + uuid.NewString()[:8], "name": "New"} }},
		"PATCH /api/categories/{id}":                   {path: "/api/categories/" + category, body: map[string]any{"name": "Renamed"}},
		"DELETE /api/categories/{id}":                  {path: "/api/categories/" + spareCategory},
		"GET /api/deals":                               {path: "/api/deals"},
		"POST /api/deals":                              {path: "/api/deals", body: map[string]any{"name": "New", "kind": "percent", "value": 5, "product_id": product, "starts_at": starts, "ends_at": ends}},
		"PATCH /api/deals/{id}":                        {path: "/api/deals/" + deal, body: map[string]any{"name": "Renamed"}},
		"DELETE /api/deals/{id}":                       {path: "/api/deals/" + spareDeal},
		"GET /api/inventory":                           {path: "/api/inventory?product_id=" + product},
		"PUT /api/inventory/{product_id}":              {path: "/api/inventory/" + product, body: map[string]any{"on_hand": 60}},
		"POST /api/inventory/{product_id}/adjustments": {path: "/api/inventory/" + product + "/adjustments", body: map[string]any{"delta": 1}},
		"GET /api/inventory/reservations/{id}":         {path: "/api/inventory/reservations/" + placed.ID},
		"GET /api/cart":                                {path: "/api/cart"},
		"POST /api/cart/items":                         {path: "/api/cart/items", body: map[string]any{"product_id": product, "quantity": 1}},
		"PUT /api/cart/items/{product_id}": {path: "/api/cart/items/" + product, body: map[string]any{"quantity": 2},
			before: func(who *actor) { s.addToCart(who.token, product, 1) }},
		"DELETE /api/cart/items/{product_id}":     {path: "/api/cart/items/" + product},
		"DELETE /api/cart":                        {path: "/api/cart"},
		"POST /api/orders":                        {path: "/api/orders", body: map[string]any{"card_number": payments.CardApprove}},
		"GET /api/orders":                         {path: "/api/orders"},
		"GET /api/orders/{id}":                    {owned: true, path: "/api/orders/" + placed.ID},
		"POST /api/orders/{id}/cancel":            {owned: true, path: "/api/orders/" + placed.ID + "/cancel"},
		"POST /api/orders/{id}/ship":              {path: "/api/orders/" + placed.ID + "/ship"},
		"GET /api/payments/{order_id}":            {owned: true, path: "/api/payments/" + placed.ID},
		"GET /api/notifications/mailbox":          {path: "/api/notifications/mailbox?recipient=" + aID},
		"GET /api/notifications/mailbox/{id}":     {owned: true, path: "/api/notifications/mailbox/" + message},
		"GET /api/admin/events/dead":              {path: "/api/admin/events/dead"},
		"GET /api/admin/ops":                      {path: "/api/admin/ops"},
		"POST /api/admin/events/dead/{id}/replay": {path: "/api/admin/events/dead/" + uuid.NewString() + "/replay"},
		"POST /api/admin/events/dead/replay":      {path: "/api/admin/events/dead/replay"},
		"GET /api/reports/sales":                  {path: "/api/reports/sales"},
		"GET /api/reports/top-products":           {path: "/api/reports/top-products"},
		"POST /api/reports/rebuild":               {path: "/api/reports/rebuild"},
	}

	if err := spec.load(s); err != nil {
		t.Fatal(err)
	}
	var routes []string
	access := map[string]string{}
	for _, op := range spec.ops {
		routes = append(routes, op.method+" "+op.template)
		access[op.method+" "+op.template] = op.access
	}
	// Reads first, then writes, deletes last, so that each call finds what
	// it acts on (PUT a cart line before DELETE removes it).
	rank := map[string]int{"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
	sort.Slice(routes, func(i, j int) bool {
		mi, mj := strings.Fields(routes[i])[0], strings.Fields(routes[j])[0]
		if rank[mi] != rank[mj] {
			return rank[mi] < rank[mj]
		}
		return routes[i] < routes[j]
	})
	for _, route := range routes {
		c, ok := cases[route]
		if !ok {
			t.Errorf("%s has no row in the authorization matrix", route)
			continue
		}
		delete(cases, route)
		scope, known := scopeOf(access[route], c.owned)
		if !known {
			t.Errorf("%s has the access level %q, which the matrix does not know", route, access[route])
			continue
		}
		method := strings.Fields(route)[0]
		// B and the anonymous caller go first: their refusals must leave A's
		// objects as they are for A and the admin.
		for _, who := range []*actor{anon, b, a, adm} {
			status := s.callAs(who, method, c)
			if problem := judge(scope, who, a, b, adm, status); problem != "" {
				t.Errorf("%s as %s: %d, %s", route, who.name, status, problem)
			}
			if c.ends && who.token != "" {
				who.token = s.login(who.email, who.password)
			}
		}
	}
	for route := range cases {
		t.Errorf("the matrix has a row for %s, which the API does not describe", route)
	}
	// A's order was cancelled by A (B's attempt was refused), never shipped.
	o := s.awaitOrder(a.token, placed.ID, order.settled)
	if o.Status != "cancelled" || !strings.Contains(o.Reason, "customer") {
		t.Errorf("A's order = %s (%q), want cancelled by its customer", o.Status, o.Reason)
	}
}

// callAs sends the case's request as an actor and returns the status.
func (s *shop) callAs(who *actor, method string, c authzCase) int {
	s.t.Helper()
	if c.before != nil && who.token != "" {
		c.before(who)
	}
	token, body := who.token, c.body
	if f, ok := body.(func() any); ok {
		body = f()
	}
	if c.session && who.token != "" {
		token = s.login(who.email, who.password) // a session of its own: login rotates it, logout ends it
	}
	if c.path == "/api/identity/login" {
		email, password := who.email, who.password
		if email == "" {
			email, password = "a@matrix.example", "a long enough password"
		}
		body = map[string]any{"email": email, "password": password}
	}
	if c.path == "/api/identity/password" {
		body = map[string]any{"current_password": who.password, "new_password": who.password}
	}
	var headers []string
	if method == http.MethodPost && c.path == "/api/orders" {
		headers = append(headers, "Idempotency-Key: "+uuid.NewString())
	}
	if body == nil && (method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch) {
		body = map[string]any{}
	}
	return s.call(method, c.path, token, body, headers...).Status
}

// judge says what is wrong with a status, or "" when it is right.
func judge(scope string, who, a, b, adm *actor, status int) string {
	denied := status == http.StatusUnauthorized || status == http.StatusForbidden
	switch {
	case status >= 500:
		return "a server error"
	case scope == public:
		if denied {
			return "refused on a public route"
		}
	case who.token == "":
		if status != http.StatusUnauthorized {
			return "want 401 for an anonymous caller"
		}
	case scope == admin && who != adm:
		if status != http.StatusForbidden {
			return "want 403 for a customer on an admin route"
		}
	case scope == owner && who == b:
		if status != http.StatusNotFound && status != http.StatusForbidden {
			return "want 404 (or 403) for another customer's object"
		}
	case denied || (scope != admin && status == http.StatusNotFound):
		return "an allowed caller was refused"
	}
	return ""
}

// TestClientsCannotSetProtectedFields sends the fields a client must never
// set (price, status, role, owner) wherever they could sneak in: each
// request is refused naming the field, and nothing changes.
func TestClientsCannotSetProtectedFields(t *testing.T) {
	t.Parallel()
	s := startShop(t)
	adm := s.login(adminEmail, adminPassword)
	product := s.product(adm, "GUARD-1", 1000, 10)
	a, b := s.register("a@guard.example"), s.register("b@guard.example")
	aID := s.userID(a)

	refused := func(what string, r response, field string) {
		t.Helper()
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming %s", what, r.Status, r.Body, field)
		}
	}
	refused("register as admin", s.call("POST", "/api/identity/register", "", map[string]any{
		"email": "mallory@guard.example", "password": "a long enough password", "name": "Mallory", "role": "admin"}), "role")
	s.must(http.StatusUnauthorized, s.call("POST", "/api/identity/login", "", map[string]any{
		"email": "mallory@guard.example", "password": "a long enough password"}))

	refused("cart line with a price", s.call("POST", "/api/cart/items", a, map[string]any{
		"product_id": product, "quantity": 1, "unit_price": map[string]any{"amount": 1, "currency": "EUR"}}), "unit_price")
	s.addToCart(a, product, 1)
	refused("cart quantity with a price", s.call("PUT", "/api/cart/items/"+product, a, map[string]any{"quantity": 2, "price": 1}), "price")

	for field, value := range map[string]any{"total": 1, "status": "confirmed", "user_id": uuid.NewString(), "items": []any{}} {
		refused("checkout with "+field, s.call("POST", "/api/orders", a, map[string]any{"card_number": payments.CardApprove, field: value},
			"Idempotency-Key: "+uuid.NewString()), field)
	}
	var history struct {
		Items []order `json:"items"`
	}
	s.must(http.StatusOK, s.call("GET", "/api/orders", a, nil)).json(t, &history)
	if len(history.Items) != 0 {
		t.Fatalf("refused checkouts created %d orders", len(history.Items))
	}

	var placed order
	s.must(http.StatusCreated, s.checkout(a, payments.CardApprove)).json(t, &placed)
	if placed.UserID != aID || placed.Total.Amount != 1000 {
		t.Errorf("order = %+v, want A's at the catalog price", placed)
	}
	s.must(http.StatusForbidden, s.call("POST", "/api/orders/"+placed.ID+"/ship", a, nil))
	s.must(http.StatusOK, s.call("GET", "/api/orders?user_id="+aID, b, nil)).json(t, &history)
	if len(history.Items) != 0 {
		t.Errorf("B asking for A's orders got %d", len(history.Items))
	}

	s.must(http.StatusForbidden, s.call("PATCH", "/api/products/"+product, a, map[string]any{"price_minor": 1}))
	refused("product with an effective price", s.call("PATCH", "/api/products/"+product, adm, map[string]any{"effective_price": 1}), "effective_price")
	s.must(http.StatusForbidden, s.call("PUT", "/api/inventory/"+product, a, map[string]any{"on_hand": 1000}))
	refused("stock with a reservation count", s.call("PUT", "/api/inventory/"+product, adm, map[string]any{"on_hand": 10, "reserved": 0}), "reserved")
	got := s.must(http.StatusOK, s.call("GET", "/api/products/"+product, "", nil)).object(t)
	if got["price"].(map[string]any)["amount"] != float64(1000) {
		t.Errorf("price = %v, want unchanged", got["price"])
	}
}
