package main

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// Helpers for the shopping tests: what a storefront or admin client does.

// product creates a product at price (EUR minor units) with stock units on
// hand, and returns its id.
func (s *shop) product(admin, sku string, price, stock int) string {
	s.t.Helper()
	p := s.must(http.StatusCreated, s.call("POST", "/api/products", admin, map[string]any{
		"sku": sku, "name": "Product " + sku, "price_minor": price, "currency": "EUR"})).object(s.t)
	id := p["id"].(string)
	s.must(http.StatusOK, s.call("PUT", "/api/inventory/"+id, admin, map[string]any{"on_hand": stock}))
	return id
}

// stock returns a product's stock level.
func (s *shop) stock(productID string) (onHand, reserved, available int) {
	s.t.Helper()
	var out struct {
		Items []struct {
			OnHand    int `json:"on_hand"`
			Reserved  int `json:"reserved"`
			Available int `json:"available"`
		} `json:"items"`
	}
	s.must(http.StatusOK, s.call("GET", "/api/inventory?product_id="+productID, "", nil)).json(s.t, &out)
	l := out.Items[0]
	return l.OnHand, l.Reserved, l.Available
}

func (s *shop) addToCart(token, productID string, quantity int) {
	s.t.Helper()
	s.must(http.StatusOK, s.call("POST", "/api/cart/items", token, map[string]any{"product_id": productID, "quantity": quantity}))
}

// checkout sends a checkout with a fresh idempotency key.
func (s *shop) checkout(token, card string) response {
	s.t.Helper()
	return s.call("POST", "/api/orders", token, map[string]any{"card_number": card}, "Idempotency-Key: "+uuid.NewString())
}

// order is an order as the API shows it.
type order struct {
	ID              string `json:"id"`
	UserID          string `json:"user_id"`
	Status          string `json:"status"`
	Reason          string `json:"reason"`
	PaymentCaptured bool   `json:"payment_captured"`
	Total           struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"total"`
	Items []struct {
		ProductID string `json:"product_id"`
		Quantity  int    `json:"quantity"`
	} `json:"items"`
	Timeline []struct {
		Step   string `json:"step"`
		Detail string `json:"detail"`
	} `json:"timeline"`
}

func (o order) steps() []string {
	out := make([]string, len(o.Timeline))
	for i, s := range o.Timeline {
		out[i] = s.Step
	}
	return out
}

func (o order) has(step string) bool { return slices.Contains(o.steps(), step) }

// settled reports whether the saga has nothing more to do for the order.
func (o order) settled() bool {
	switch o.Status {
	case "confirmed":
		return o.PaymentCaptured
	case "rejected", "failed", "shipped":
		return true
	case "cancelled":
		return o.has("stock_released")
	}
	return false
}

// awaitOrder polls the order until done holds.
func (s *shop) awaitOrder(token, id string, done func(order) bool) order {
	s.t.Helper()
	var o order
	eventstest.Eventually(s.t, 30*time.Second, fmt.Sprintf("order %s settles", id), func() bool {
		o = order{}
		s.must(http.StatusOK, s.call("GET", "/api/orders/"+id, token, nil)).json(s.t, &o)
		return done(o)
	})
	return o
}

func (s *shop) userID(token string) string {
	s.t.Helper()
	return s.must(http.StatusOK, s.call("GET", "/api/identity/me", token, nil)).object(s.t)["id"].(string)
}

// mailbox returns the kinds of the messages a user got.
func (s *shop) mailbox(admin, userID string) []string {
	s.t.Helper()
	var out struct {
		Items []struct {
			Kind    string `json:"kind"`
			Subject string `json:"subject"`
		} `json:"items"`
	}
	s.must(http.StatusOK, s.call("GET", "/api/notifications/mailbox?recipient="+userID, admin, nil)).json(s.t, &out)
	kinds := make([]string, len(out.Items))
	for i, m := range out.Items {
		kinds[i] = m.Kind
	}
	return kinds
}

// awaitMail waits until the user's mailbox holds a message of kind.
func (s *shop) awaitMail(admin, userID, kind string) {
	s.t.Helper()
	eventstest.Eventually(s.t, 30*time.Second, kind+" message for "+userID, func() bool {
		return slices.Contains(s.mailbox(admin, userID), kind)
	})
}

// fastLogins makes registering many customers cheap: weaker password hashing
// (development only) and no per-address login or sign-up limit.
var fastLogins = []string{"SHOP_AUTH_ARGON2_MEMORY_KIB=64", "SHOP_AUTH_ARGON2_ITERATIONS=1",
	"SHOP_AUTH_LOGIN_PER_IP=1000000", "SHOP_AUTH_REGISTER_PER_IP=1000000"}
