package payments

import (
	"context"
	"time"
)

// Payment statuses.
const (
	StatusAuthorized = "authorized" // the amount is held on the card
	StatusDeclined   = "declined"   // the card issuer said no
	StatusFailed     = "failed"     // the gateway erred or did not answer in time
	StatusCaptured   = "captured"   // the held amount was taken
	StatusVoided     = "voided"     // the authorization was cancelled before capture
	StatusRefunded   = "refunded"   // the captured amount was given back
)

// Reasons a payment is declined or failed (Payment.Reason,
// PaymentRejected.Reason). An order that fails on its payment carries the
// same reason, spelled the same. A card issuer may give another decline reason than
// ReasonCardDeclined; it is passed on as it came.
const (
	ReasonCardDeclined    = "card_declined"    // the issuer's usual answer
	ReasonProcessingError = "processing_error" // the gateway erred on every attempt
	ReasonGatewayTimeout  = "gateway_timeout"  // the gateway did not answer in time
)

// Test cards of the simulated gateway (any expiry, any CVC). Any other
// number that passes the Luhn check is approved as well.
const (
	CardApprove = "4242424242424242" // approved
	CardDecline = "4000000000000002" // declined: ReasonCardDeclined
	CardFail    = "4000000000000119" // the gateway errs on every attempt: failed, ReasonProcessingError
	CardTimeout = "4000000000000259" // the gateway never answers: failed, ReasonGatewayTimeout
)

// API is the payments module as other modules and remote adapters see it.
// Tokenize needs a signed-in user; Authorize, Capture and Refund need the
// service role (a module acting on its own, auth.AsService). Payment is
// for the service, admins, and the customer the payment was authorized for
// (AuthorizeRequest.UserID): another customer gets KindNotFound, never
// KindForbidden, so that order ids cannot be probed (as for orders).
// Without a principal they return KindUnauthenticated, with another role
// KindForbidden. Any method may also
// return KindInternal, and KindUnavailable when the gateway cannot be
// reached for an operation that must not be given up (capture, refund), so
// the caller retries; if it does not, the module finishes the operation by
// itself within minutes, with the same event a retry would publish.
//
// Authorize, Capture and Refund are idempotent per order: a retry returns
// the payment as it is and never charges, captures or refunds twice.
type API interface {
	// Tokenize checks a card number and returns a token that stands for it;
	// the number itself never leaves this module. KindInvalid names
	// card_number (not 12..19 digits, or failing the Luhn check).
	Tokenize(ctx context.Context, cardNumber string) (Card, error)
	// Authorize holds the amount on the tokenized card for the order. A
	// decline or a gateway failure is not an error: the payment comes back
	// declined or failed with the reason. KindInvalid names order_id,
	// user_id (not a UUID), amount or card_token (unknown token);
	// KindConflict when the order was
	// authorized before with another amount or card.
	//shop:idempotent
	Authorize(ctx context.Context, r AuthorizeRequest) (Payment, error)
	// Capture takes the authorized amount; capturing a captured payment
	// returns it unchanged. KindNotFound when the order has no payment;
	// KindConflict when the payment is not authorized (declined, failed,
	// voided, refunded).
	//shop:idempotent
	Capture(ctx context.Context, orderID string) (Payment, error)
	// Refund gives the money back: it voids an authorization or refunds a
	// capture. Refunding a refunded or voided payment returns it unchanged;
	// a declined or failed payment is returned unchanged (nothing was
	// taken). KindNotFound when the order has no payment.
	//shop:idempotent
	Refund(ctx context.Context, orderID string) (Payment, error)
	// Payment returns the payment of an order: its authorization, capture
	// and refund. KindNotFound when the order has no payment or it is
	// another customer's.
	//shop:idempotent
	Payment(ctx context.Context, orderID string) (Payment, error)
}

// Card is a tokenized card.
type Card struct {
	Token string `json:"token"`
	Brand string `json:"brand"` // visa, mastercard, amex or card
	Last4 string `json:"last4"`
}

// Money is an amount in minor units (cents) of a currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// AuthorizeRequest asks to hold Amount on the card for an order.
type AuthorizeRequest struct {
	OrderID   string `json:"order_id"`
	UserID    string `json:"user_id,omitempty"` // the order's customer, who may then read the payment
	Amount    Money  `json:"amount"`
	CardToken string `json:"card_token"`
}

// Payment is the payment of one order. UserID is the customer it was
// authorized for (empty for payments recorded before it was kept). Reason
// says why it was declined or failed (see the Reason constants). RefundedAt
// is when an authorization was voided or a capture refunded.
type Payment struct {
	ID           string     `json:"id"`
	OrderID      string     `json:"order_id"`
	UserID       string     `json:"user_id,omitempty" format:"uuid"`
	Status       string     `json:"status" enum:"authorized,declined,failed,captured,voided,refunded"`
	Amount       Money      `json:"amount"`
	CardBrand    string     `json:"card_brand"`
	CardLast4    string     `json:"card_last4"`
	Reason       string     `json:"reason,omitempty"`
	AuthorizedAt *time.Time `json:"authorized_at,omitempty"`
	CapturedAt   *time.Time `json:"captured_at,omitempty"`
	RefundedAt   *time.Time `json:"refunded_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// PaymentAuthorized is published when an authorization succeeds.
type PaymentAuthorized struct {
	PaymentID string    `json:"payment_id"`
	OrderID   string    `json:"order_id"`
	Amount    Money     `json:"amount"`
	At        time.Time `json:"at"`
}

// EventType implements events.Event.
func (PaymentAuthorized) EventType() string { return "payments.payment_authorized.v1" }

// EventKey implements events.Event.
func (e PaymentAuthorized) EventKey() string { return e.OrderID }

// PaymentRejected is published when an authorization is declined or fails.
type PaymentRejected struct {
	PaymentID string    `json:"payment_id"`
	OrderID   string    `json:"order_id"`
	Status    string    `json:"status"` // declined or failed
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// EventType implements events.Event.
func (PaymentRejected) EventType() string { return "payments.payment_rejected.v1" }

// EventKey implements events.Event.
func (e PaymentRejected) EventKey() string { return e.OrderID }

// PaymentCaptured is published once per payment, when it is captured.
type PaymentCaptured struct {
	PaymentID string    `json:"payment_id"`
	OrderID   string    `json:"order_id"`
	Amount    Money     `json:"amount"`
	At        time.Time `json:"at"`
}

// EventType implements events.Event.
func (PaymentCaptured) EventType() string { return "payments.payment_captured.v1" }

// EventKey implements events.Event.
func (e PaymentCaptured) EventKey() string { return e.OrderID }

// PaymentRefunded is published once per payment, when an authorization is
// voided (Status voided) or a capture refunded (Status refunded).
type PaymentRefunded struct {
	PaymentID string    `json:"payment_id"`
	OrderID   string    `json:"order_id"`
	Status    string    `json:"status"`
	Amount    Money     `json:"amount"`
	At        time.Time `json:"at"`
}

// EventType implements events.Event.
func (PaymentRefunded) EventType() string { return "payments.payment_refunded.v1" }

// EventKey implements events.Event.
func (e PaymentRefunded) EventKey() string { return e.OrderID }
