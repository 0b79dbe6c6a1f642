package paymentstest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/payments"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/errs/errstest"
)

// Contract runs the behavioural suite of payments.API against api. Every
// order it pays is new, so it can run again and again on the same
// database. The timeout card makes one case wait for the implementation's
// gateway deadline.
func Contract(t *testing.T, api payments.API) {
	t.Helper()
	c := &contract{api: api}
	t.Run("authorization", c.authorization)
	t.Run("customer's own payment", c.ownPayment)
	t.Run("tokenize", c.tokenize)
	t.Run("validation", c.validation)
	t.Run("card outcomes", c.outcomes)
	t.Run("idempotency", c.idempotency)
	t.Run("state machine", c.stateMachine)
	t.Run("not found", c.notFound)
}

type contract struct{ api payments.API }

// Service is the context of a module calling payments on its own behalf.
func Service() context.Context { return auth.AsService(context.Background(), "orders") }

func customer() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "contract-customer", Role: auth.RoleCustomer})
}

func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "contract-admin", Role: auth.RoleAdmin})
}

func wantKind(t *testing.T, what string, err error, kind errs.Kind) {
	t.Helper()
	if got := errs.KindOf(err); err == nil || got != kind {
		t.Errorf("%s: err = %v (kind %v), want kind %v", what, err, got, kind)
	}
}

// fields names the fields an error reports.
// NewOrderID returns an order id nobody used.
func NewOrderID() string { return "order-" + uuid.NewString() }

// Token tokenizes number as a customer would, failing the test on error.
func Token(t *testing.T, api payments.API, number string) string {
	t.Helper()
	c, err := api.Tokenize(customer(), number)
	if err != nil {
		t.Fatalf("Tokenize(%s): %v", number, err)
	}
	return c.Token
}

// Authorize authorizes a new order of 1999 EUR cents on number.
func Authorize(t *testing.T, api payments.API, number string) payments.Payment {
	t.Helper()
	p, err := api.Authorize(Service(), payments.AuthorizeRequest{
		OrderID: NewOrderID(), Amount: payments.Money{Amount: 1999, Currency: "EUR"}, CardToken: Token(t, api, number),
	})
	if err != nil {
		t.Fatalf("Authorize(%s): %v", number, err)
	}
	return p
}

func (c *contract) authorization(t *testing.T) {
	p := Authorize(t, c.api, payments.CardApprove)
	req := payments.AuthorizeRequest{OrderID: NewOrderID(), Amount: p.Amount, CardToken: Token(t, c.api, payments.CardApprove)}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		kind errs.Kind
	}{
		{"anonymous", context.Background(), errs.KindUnauthenticated},
		{"customer", customer(), errs.KindForbidden},
		{"admin", admin(), errs.KindForbidden},
	} {
		_, err := c.api.Authorize(tc.ctx, req)
		wantKind(t, tc.name+" Authorize", err, tc.kind)
		_, err = c.api.Capture(tc.ctx, p.OrderID)
		wantKind(t, tc.name+" Capture", err, tc.kind)
		_, err = c.api.Refund(tc.ctx, p.OrderID)
		wantKind(t, tc.name+" Refund", err, tc.kind)
	}
	_, err := c.api.Tokenize(context.Background(), payments.CardApprove)
	wantKind(t, "anonymous Tokenize", err, errs.KindUnauthenticated)
	_, err = c.api.Payment(context.Background(), p.OrderID)
	wantKind(t, "anonymous Payment", err, errs.KindUnauthenticated)
	_, err = c.api.Payment(customer(), p.OrderID) // authorized for no customer
	wantKind(t, "customer Payment", err, errs.KindNotFound)
	for name, ctx := range map[string]context.Context{"admin": admin(), "service": Service()} {
		if got, err := c.api.Payment(ctx, p.OrderID); err != nil || got.ID != p.ID {
			t.Errorf("%s Payment = %+v, %v; want %s", name, got, err, p.ID)
		}
	}
	if _, err := c.api.Payment(Service(), req.OrderID); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("refused Authorize created a payment: %v", err)
	}
	if got, err := c.api.Payment(Service(), p.OrderID); err != nil || got.Status != payments.StatusAuthorized {
		t.Errorf("refused Capture or Refund changed the payment: %+v, %v", got, err)
	}
}

// ownPayment: the customer a payment was authorized for reads it, its
// refund included; another customer gets not found, as for their orders.
func (c *contract) ownPayment(t *testing.T) {
	ada, bob := uuid.NewString(), uuid.NewString()
	as := func(id string) context.Context {
		return auth.WithPrincipal(context.Background(), auth.Principal{UserID: id, Role: auth.RoleCustomer})
	}
	p, err := c.api.Authorize(Service(), payments.AuthorizeRequest{
		OrderID: NewOrderID(), UserID: ada, Amount: payments.Money{Amount: 1999, Currency: "EUR"}, CardToken: Token(t, c.api, payments.CardApprove),
	})
	if err != nil || p.UserID != ada {
		t.Fatalf("Authorize for %s = %+v, %v", ada, p, err)
	}
	if got, err := c.api.Payment(as(ada), p.OrderID); err != nil || !Same(got, p) {
		t.Errorf("own Payment = %+v, %v; want %+v", got, err, p)
	}
	_, err = c.api.Payment(as(bob), p.OrderID)
	wantKind(t, "another customer's Payment", err, errs.KindNotFound)
	// In the same words as an order without a payment: the answer must not
	// tell that the order exists.
	if _, none := c.api.Payment(as(bob), NewOrderID()); err == nil || none == nil || err.Error() != none.Error() {
		t.Errorf("another customer's Payment: %v; an order without a payment: %v; want the same answer", err, none)
	}
	if _, err := c.api.Refund(Service(), p.OrderID); err != nil {
		t.Fatalf("Refund: %v", err)
	}
	if got, err := c.api.Payment(as(ada), p.OrderID); err != nil || got.Status != payments.StatusVoided || got.RefundedAt == nil {
		t.Errorf("own Payment after the refund = %+v, %v; want voided with its time", got, err)
	}
}

func (c *contract) tokenize(t *testing.T) {
	for _, tc := range []struct{ number, brand, last4 string }{
		{payments.CardApprove, "visa", "4242"},
		{"4242 4242 4242 4242", "visa", "4242"},
		{"5555-5555-5555-4444", "mastercard", "4444"},
		{"2223003122003222", "mastercard", "3222"},
		{"378282246310005", "amex", "0005"},
		{"6011111111111117", "card", "1117"},
		{"4222222222222", "visa", "2222"}, // 13 digits
	} {
		card, err := c.api.Tokenize(customer(), tc.number)
		if err != nil || card.Brand != tc.brand || card.Last4 != tc.last4 || !strings.HasPrefix(card.Token, "tok_") {
			t.Errorf("Tokenize(%q) = %+v, %v; want %s %s and a tok_ token", tc.number, card, err, tc.brand, tc.last4)
		}
		if strings.Contains(card.Token, strings.NewReplacer(" ", "", "-", "").Replace(tc.number)) {
			t.Errorf("token %q shows the number", card.Token)
		}
	}
	a, b := Token(t, c.api, payments.CardApprove), Token(t, c.api, payments.CardApprove)
	if a == b {
		t.Errorf("two tokenizations gave one token %q", a)
	}
	for _, bad := range []string{"", "4242", "4242424242424241", "4242x42424242424", "42424242424242424242", "12345678901", " - - "} {
		_, err := c.api.Tokenize(customer(), bad)
		wantKind(t, "Tokenize("+bad+")", err, errs.KindInvalid)
		if f := errstest.Fields(err); f != "card_number" {
			t.Errorf("Tokenize(%q) names %q, want card_number", bad, f)
		}
	}
}

func (c *contract) validation(t *testing.T) {
	token := Token(t, c.api, payments.CardApprove)
	valid := func() payments.AuthorizeRequest {
		return payments.AuthorizeRequest{OrderID: NewOrderID(), Amount: payments.Money{Amount: 500, Currency: "EUR"}, CardToken: token}
	}
	for _, tc := range []struct {
		field  string
		mutate func(*payments.AuthorizeRequest)
	}{
		{"order_id", func(r *payments.AuthorizeRequest) { r.OrderID = "" }},
		{"order_id", func(r *payments.AuthorizeRequest) { r.OrderID = " " + r.OrderID }},
		{"order_id", func(r *payments.AuthorizeRequest) { r.OrderID = strings.Repeat("x", 101) }},
		{"user_id", func(r *payments.AuthorizeRequest) { r.UserID = "contract-customer" }},
		{"amount", func(r *payments.AuthorizeRequest) { r.Amount.Amount = 0 }},
		{"amount", func(r *payments.AuthorizeRequest) { r.Amount.Amount = -100 }},
		{"amount.currency", func(r *payments.AuthorizeRequest) { r.Amount.Currency = "eur" }},
		{"amount.currency", func(r *payments.AuthorizeRequest) { r.Amount.Currency = "" }},
		{"card_token", func(r *payments.AuthorizeRequest) { r.CardToken = "" }},
		{"card_token", func(r *payments.AuthorizeRequest) { r.CardToken = payments.CardApprove }},
		{"card_token", func(r *payments.AuthorizeRequest) { r.CardToken = "tok_" + strings.Repeat("0", 32) }},
	} {
		r := valid()
		tc.mutate(&r)
		_, err := c.api.Authorize(Service(), r)
		wantKind(t, "Authorize "+tc.field, err, errs.KindInvalid)
		if f := errstest.Fields(err); f != tc.field {
			t.Errorf("Authorize(%+v) names %q, want %s", r, f, tc.field)
		}
		if r.OrderID != "" {
			if _, err := c.api.Payment(Service(), r.OrderID); !errs.Is(err, errs.KindNotFound) {
				t.Errorf("invalid Authorize(%+v) left a payment: %v", r, err)
			}
		}
	}
}

func (c *contract) outcomes(t *testing.T) {
	for _, tc := range []struct {
		name, number, status, reason, brand, last4 string
	}{
		{"approve", payments.CardApprove, payments.StatusAuthorized, "", "visa", "4242"},
		{"other valid number", "5555555555554444", payments.StatusAuthorized, "", "mastercard", "4444"},
		{"decline", payments.CardDecline, payments.StatusDeclined, "card_declined", "visa", "0002"},
		{"fail", payments.CardFail, payments.StatusFailed, "processing_error", "visa", "0119"},
		{"timeout", payments.CardTimeout, payments.StatusFailed, "gateway_timeout", "visa", "0259"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Authorize(t, c.api, tc.number)
			if p.Status != tc.status || p.Reason != tc.reason || p.CardBrand != tc.brand || p.CardLast4 != tc.last4 {
				t.Errorf("payment %+v, want %s %q on %s %s", p, tc.status, tc.reason, tc.brand, tc.last4)
			}
			if p.ID == "" || p.Amount != (payments.Money{Amount: 1999, Currency: "EUR"}) || p.CreatedAt.IsZero() || p.UpdatedAt.IsZero() {
				t.Errorf("payment %+v lacks id, amount or times", p)
			}
			if authorized := tc.status == payments.StatusAuthorized; (p.AuthorizedAt != nil) != authorized || p.CapturedAt != nil || p.RefundedAt != nil {
				t.Errorf("payment %+v: authorized_at set %v, want %v; captured_at and refunded_at unset", p, p.AuthorizedAt != nil, authorized)
			}
			got, err := c.api.Payment(Service(), p.OrderID)
			if err != nil || !Same(got, p) {
				t.Errorf("Payment = %+v, %v; want %+v", got, err, p)
			}
		})
	}
}

func (c *contract) idempotency(t *testing.T) {
	token := Token(t, c.api, payments.CardApprove)
	req := payments.AuthorizeRequest{OrderID: NewOrderID(), Amount: payments.Money{Amount: 4200, Currency: "EUR"}, CardToken: token}
	first, err := c.api.Authorize(Service(), req)
	if err != nil || first.Status != payments.StatusAuthorized {
		t.Fatalf("Authorize = %+v, %v", first, err)
	}
	if again, err := c.api.Authorize(Service(), req); err != nil || !Same(again, first) {
		t.Errorf("repeated Authorize = %+v, %v; want %+v", again, err, first)
	}
	for name, r := range map[string]payments.AuthorizeRequest{
		"amount":   {OrderID: req.OrderID, Amount: payments.Money{Amount: 4201, Currency: "EUR"}, CardToken: token},
		"currency": {OrderID: req.OrderID, Amount: payments.Money{Amount: 4200, Currency: "USD"}, CardToken: token},
		"card":     {OrderID: req.OrderID, Amount: req.Amount, CardToken: Token(t, c.api, payments.CardApprove)},
	} {
		_, err := c.api.Authorize(Service(), r)
		wantKind(t, "Authorize with another "+name, err, errs.KindConflict)
	}
	declined := Authorize(t, c.api, payments.CardDecline)
	retry := payments.AuthorizeRequest{OrderID: declined.OrderID, Amount: declined.Amount, CardToken: Token(t, c.api, payments.CardApprove)}
	_, err = c.api.Authorize(Service(), retry)
	wantKind(t, "Authorize a declined order with another card", err, errs.KindConflict)

	captured, err := c.api.Capture(Service(), first.OrderID)
	if err != nil || captured.Status != payments.StatusCaptured {
		t.Fatalf("Capture = %+v, %v", captured, err)
	}
	if again, err := c.api.Capture(Service(), first.OrderID); err != nil || !Same(again, captured) {
		t.Errorf("repeated Capture = %+v, %v; want %+v", again, err, captured)
	}
	refunded, err := c.api.Refund(Service(), first.OrderID)
	if err != nil || refunded.Status != payments.StatusRefunded {
		t.Fatalf("Refund = %+v, %v", refunded, err)
	}
	if again, err := c.api.Refund(Service(), first.OrderID); err != nil || !Same(again, refunded) {
		t.Errorf("repeated Refund = %+v, %v; want %+v", again, err, refunded)
	}
}

// stateMachine walks every status through Capture and Refund.
func (c *contract) stateMachine(t *testing.T) {
	type step struct {
		call   string // capture or refund
		status string // want this status, or
		kind   errs.Kind
		fails  bool // want an error of kind
	}
	for _, tc := range []struct {
		name  string
		card  string
		steps []step
	}{
		{"capture then refund", payments.CardApprove, []step{
			{call: "capture", status: payments.StatusCaptured},
			{call: "refund", status: payments.StatusRefunded},
			{call: "capture", fails: true, kind: errs.KindConflict},
			{call: "refund", status: payments.StatusRefunded},
		}},
		{"void", payments.CardApprove, []step{
			{call: "refund", status: payments.StatusVoided},
			{call: "refund", status: payments.StatusVoided},
			{call: "capture", fails: true, kind: errs.KindConflict},
		}},
		{"declined", payments.CardDecline, []step{
			{call: "capture", fails: true, kind: errs.KindConflict},
			{call: "refund", status: payments.StatusDeclined},
		}},
		{"failed", payments.CardFail, []step{
			{call: "capture", fails: true, kind: errs.KindConflict},
			{call: "refund", status: payments.StatusFailed},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := Authorize(t, c.api, tc.card)
			for i, s := range tc.steps {
				call := c.api.Capture
				if s.call == "refund" {
					call = c.api.Refund
				}
				p, err := call(Service(), prev.OrderID)
				if s.fails {
					wantKind(t, s.call, err, s.kind)
					if now, err := c.api.Payment(Service(), prev.OrderID); err != nil || !Same(now, prev) {
						t.Errorf("step %d: refused %s changed the payment to %+v (%v)", i, s.call, now, err)
					}
					continue
				}
				if err != nil || p.Status != s.status || p.ID != prev.ID {
					t.Fatalf("step %d: %s = %+v, %v; want %s", i, s.call, p, err, s.status)
				}
				checkTimes(t, p)
				if p.Status == prev.Status && !Same(p, prev) {
					t.Errorf("step %d: %s changed an unchanged payment: %+v, was %+v", i, s.call, p, prev)
				}
				prev = p
			}
		})
	}
}

// checkTimes: each status carries the times of the steps that led to it.
func checkTimes(t *testing.T, p payments.Payment) {
	t.Helper()
	captured := p.Status == payments.StatusCaptured || p.Status == payments.StatusRefunded
	refunded := p.Status == payments.StatusVoided || p.Status == payments.StatusRefunded
	if p.AuthorizedAt == nil && p.Status != payments.StatusDeclined && p.Status != payments.StatusFailed ||
		(p.CapturedAt != nil) != captured || (p.RefundedAt != nil) != refunded || p.UpdatedAt.Before(p.CreatedAt) {
		t.Errorf("payment %+v: times do not match status %s", p, p.Status)
	}
}

func (c *contract) notFound(t *testing.T) {
	for _, id := range []string{NewOrderID(), "", strings.Repeat("x", 500)} {
		_, err := c.api.Capture(Service(), id)
		wantKind(t, "Capture unknown", err, errs.KindNotFound)
		_, err = c.api.Refund(Service(), id)
		wantKind(t, "Refund unknown", err, errs.KindNotFound)
		_, err = c.api.Payment(admin(), id)
		wantKind(t, "Payment unknown", err, errs.KindNotFound)
	}
}

// Same reports whether two payments are the same payment in the same state.
func Same(a, b payments.Payment) bool {
	eq := func(x, y *time.Time) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(*y) }
	return a.ID == b.ID && a.OrderID == b.OrderID && a.UserID == b.UserID && a.Status == b.Status && a.Amount == b.Amount &&
		a.CardBrand == b.CardBrand && a.CardLast4 == b.CardLast4 && a.Reason == b.Reason &&
		eq(a.AuthorizedAt, b.AuthorizedAt) && eq(a.CapturedAt, b.CapturedAt) && eq(a.RefundedAt, b.RefundedAt) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}
