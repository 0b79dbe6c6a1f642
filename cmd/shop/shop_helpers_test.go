package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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

// awaitOrder polls the order until done holds. When it does not within 30
// seconds the failure says where the order stopped: its status and
// timeline, and the events about it that are not handled yet, with their
// attempts and last errors.
func (s *shop) awaitOrder(token, id string, done func(order) bool) order {
	s.t.Helper()
	const within = 30 * time.Second
	deadline := time.Now().Add(within)
	for {
		var o order
		s.must(http.StatusOK, s.call("GET", "/api/orders/"+id, token, nil)).json(s.t, &o)
		if done(o) {
			return o
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("not within %v: order %s settles; it is %s after %v; its events not handled yet:\n%s",
				within, id, o.Status, o.steps(), s.unhandledEvents(id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unhandledEvents lists, for a failure message, every module's events
// about an aggregate (its key, or its id in the payload) still in an outbox
// or pending or dead in an inbox.
func (s *shop) unhandledEvents(id string) string {
	if s.dbURL == "" {
		return "(no database to look in)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		return err.Error()
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'event_inbox' ORDER BY 1`)
	if err != nil {
		return err.Error()
	}
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	about := `(key = $1 OR payload::text LIKE '%' || $1 || '%')`
	for _, schema := range schemas {
		t := pgx.Identifier{schema}.Sanitize()
		rows, err := conn.Query(ctx, `SELECT 'outbox', type, '', '', 0, '', interval '0' FROM `+t+`.event_outbox
			WHERE forwarded_at IS NULL AND `+about+`
			UNION ALL
			SELECT 'inbox', type, subscriber, status || CASE WHEN lease_token IS NULL THEN '' ELSE ' (leased)' END, attempts, coalesce(last_error, ''), next_attempt_at - now() FROM `+t+`.event_inbox
			WHERE status <> 'done' AND `+about, id)
		if err != nil {
			fmt.Fprintf(&b, "  %s: %v\n", schema, err)
			continue
		}
		var where, typ, subscriber, status, lastError string
		var attempts int
		var due time.Duration
		_, err = pgx.ForEachRow(rows, []any{&where, &typ, &subscriber, &status, &attempts, &lastError, &due}, func() error {
			fmt.Fprintf(&b, "  %s.%s %s %s %s attempts=%d next in %v %s\n", schema, where, typ, subscriber, status, attempts, due, lastError)
			return nil
		})
		if err != nil {
			fmt.Fprintf(&b, "  %s: %v\n", schema, err)
		}
	}
	if b.Len() == 0 {
		return "  (none)"
	}
	return b.String()
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
