package domain

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// Line is one ordered item as the confirmation lists it.
type Line struct {
	SKU       string
	Name      string
	Quantity  int
	UnitPrice Money
	LineTotal Money
}

// OrderConfirmed is what the confirmation of a sale needs.
type OrderConfirmed struct {
	Source  // orders.order_confirmed.v1
	OrderID string
	UserID  string
	Email   string
	Items   []Line
	Total   Money
}

// OrderFailed is what the message about an order that did not go through
// needs: payment declined or failed, or not enough stock.
type OrderFailed struct {
	Source  // orders.order_failed.v1 or orders.order_rejected.v1
	OrderID string
	UserID  string
	Email   string
	Reason  string // may be empty
}

// OrderShipped is what the shipping notice needs.
type OrderShipped struct {
	Source  // orders.order_shipped.v1
	OrderID string
	UserID  string
	Email   string
}

// NewOrderConfirmed composes the confirmation of an order: its lines and
// total. KindInvalid names what a malformed event lacks (see NewWelcome).
func NewOrderConfirmed(in OrderConfirmed, now time.Time) (Message, error) {
	var f errs.Fields
	h := parseHeader(&f, in.Source, in.UserID, in.Email)
	h.orderID = parseOrderID(&f, in.OrderID)
	if len(in.Items) == 0 {
		f.Add("items", "required", "must list at least one item")
	}
	for i, l := range in.Items {
		field := fmt.Sprintf("items[%d]", i)
		if strings.TrimSpace(l.Name) == "" {
			f.Add(field+".name", "required", "is required")
		}
		if l.Quantity < 1 {
			f.Add(field+".quantity", "range", "must be at least 1")
		}
		checkMoney(&f, field+".unit_price", l.UnitPrice)
		checkMoney(&f, field+".line_total", l.LineTotal)
	}
	checkMoney(&f, "total", in.Total)
	if err := f.Err(); err != nil {
		return Message{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nthank you for your order %s. Your payment is authorized and the order is confirmed:\n\n", in.OrderID)
	for _, l := range in.Items {
		fmt.Fprintf(&b, "  %d x %s", l.Quantity, l.Name)
		if l.SKU != "" {
			fmt.Fprintf(&b, " (%s)", l.SKU)
		}
		fmt.Fprintf(&b, " at %s = %s\n", l.UnitPrice, l.LineTotal)
	}
	fmt.Fprintf(&b, "\nTotal: %s\n\nWe will write again when it ships.\n\nThe shop team", in.Total)
	return h.message(KindOrderConfirmed, now, fmt.Sprintf("Your order %s is confirmed", in.OrderID), b.String()), nil
}

// NewOrderFailed composes the message about an order that did not go
// through, with the reason when the event gives one. KindInvalid as
// NewWelcome.
func NewOrderFailed(in OrderFailed, now time.Time) (Message, error) {
	var f errs.Fields
	h := parseHeader(&f, in.Source, in.UserID, in.Email)
	h.orderID = parseOrderID(&f, in.OrderID)
	if err := f.Err(); err != nil {
		return Message{}, err
	}
	reason := readableReason(strings.TrimSpace(in.Reason))
	if reason == "" {
		reason = "no reason was given"
	}
	body := fmt.Sprintf("Hello,\n\nwe are sorry: your order %s could not be completed.\n\nReason: %s\n\n"+
		"You are welcome to place the order again.\n\nThe shop team", in.OrderID, reason)
	return h.message(KindOrderFailed, now, fmt.Sprintf("Your order %s could not be completed", in.OrderID), body), nil
}

// reasonCode is a reason given as a code (payments' card_declined) rather
// than a sentence.
var reasonCode = regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)

// readableReason shows a reason code as words ("Card declined"), as the
// storefront does; a sentence is kept as it is.
func readableReason(r string) string {
	if !reasonCode.MatchString(r) {
		return r
	}
	words := strings.ReplaceAll(r, "_", " ")
	return strings.ToUpper(words[:1]) + words[1:]
}

// NewOrderShipped composes the shipping notice of an order. KindInvalid as
// NewWelcome.
func NewOrderShipped(in OrderShipped, now time.Time) (Message, error) {
	var f errs.Fields
	h := parseHeader(&f, in.Source, in.UserID, in.Email)
	h.orderID = parseOrderID(&f, in.OrderID)
	if err := f.Err(); err != nil {
		return Message{}, err
	}
	body := fmt.Sprintf("Hello,\n\nyour order %s has left our warehouse and is on its way to you.\n\nThe shop team", in.OrderID)
	return h.message(KindOrderShipped, now, fmt.Sprintf("Your order %s has shipped", in.OrderID), body), nil
}

// parseOrderID checks the order id: present and a UUID (so that it fits on
// the subject line and in the mailbox's order_id column).
func parseOrderID(f *errs.Fields, id string) string {
	if strings.TrimSpace(id) == "" {
		f.Add("order_id", "required", "is required")
		return ""
	}
	return parseUUID(f, "order_id", id)
}
