package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/identity"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/notifications"
	"github.com/shopmonolith/shop/modules/orders"
	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/modules/reporting"
)

// TestRoutesServeThePublicDTOs: what a route answers is exactly its
// module's public DTO as a remote caller receives it — the same fields,
// present or absent alike — so the HTTP shape and the contract cannot
// drift apart; and every list is {"items", "next_cursor"}.
func TestRoutesServeThePublicDTOs(t *testing.T) {
	t.Parallel()
	s := startShop(t)
	admin := s.login(adminEmail, adminPassword)
	customer := s.register("dto@example.com")
	uid := s.userID(customer)
	product := s.product(admin, "DTO-1", 1500, 5)
	s.addToCart(customer, product, 1)
	var placed order
	s.must(http.StatusCreated, s.checkout(customer, payments.CardApprove)).json(t, &placed)
	s.awaitOrder(customer, placed.ID, order.settled)
	s.awaitMail(admin, uid, "order_confirmed")
	s.addToCart(customer, product, 2)

	for _, tc := range []struct {
		path string
		dto  any // a pointer to the DTO the route serves
	}{
		{"/api/orders", &orders.Page{}},
		{"/api/orders/" + placed.ID, &orders.Order{}},
		{"/api/payments/" + placed.ID, &payments.Payment{}},
		{"/api/notifications/mailbox", &notifications.MailboxPage{}},
		{"/api/products", &catalog.ProductPage{}},
		{"/api/cart", &cart.Cart{}},
		{"/api/identity/me", &identity.User{}},
	} {
		body := s.must(http.StatusOK, s.call("GET", tc.path, customer, nil)).Body
		sameAsDTO(t, tc.path, body, tc.dto)
	}
	sameAsDTO(t, "product", s.must(http.StatusOK, s.call("GET", "/api/products/"+product, customer, nil)).Body, &catalog.Product{})
	sameAsDTO(t, "sales", s.must(http.StatusOK, s.call("GET", "/api/reports/sales", admin, nil)).Body, &reporting.SalesReport{})
	sameAsDTO(t, "reservation", s.must(http.StatusOK, s.call("GET", "/api/inventory/reservations/"+placed.ID, admin, nil)).Body, &inventory.Reservation{})
	for _, path := range []string{"/api/categories", "/api/deals", "/api/orders", "/api/notifications/mailbox", "/api/products",
		"/api/reports/top-products", "/api/inventory?product_id=" + product, "/api/admin/events/dead"} {
		var list map[string]json.RawMessage
		s.must(http.StatusOK, s.call("GET", path, admin, nil)).json(t, &list)
		if _, ok := list["items"]; !ok || len(list) != 2 || string(list["next_cursor"]) != `""` {
			t.Errorf("%s: keys %v, want items and next_cursor (empty on the last page)", path, keys(list))
		}
	}
}

// sameAsDTO decodes body into dto, refusing unknown fields, encodes it again
// and wants the very same JSON.
func sameAsDTO(t *testing.T, what string, body []byte, dto any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dto); err != nil {
		t.Errorf("%s: not a %T: %v", what, dto, err)
		return
	}
	again, err := json.Marshal(dto)
	if err != nil {
		t.Fatal(err)
	}
	var served, encoded any
	if err := json.Unmarshal(body, &served); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &encoded); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(served, encoded) {
		t.Errorf("%s: served\n%s\nthe %T encodes as\n%s", what, body, dto, again)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
