package domain

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

// Payment statuses (the public package uses the same words).
const (
	StatusAuthorized = "authorized"
	StatusDeclined   = "declined"
	StatusFailed     = "failed"
	StatusCaptured   = "captured"
	StatusVoided     = "voided"
	StatusRefunded   = "refunded"
)

// Reasons of declined and failed payments.
const (
	ReasonDeclined   = "card_declined"    // the issuer's usual answer, unless it gave another
	ReasonProcessing = "processing_error" // the gateway erred on every attempt
	ReasonTimeout    = "gateway_timeout"  // the gateway did not answer in time
)

// Operations at the gateway after the authorization. One may be under way
// (pending) at a time; see Payment.
const (
	OpCapture = "capture"
	OpVoid    = "void"
	OpRefund  = "refund"
)

// MaxOrderIDLen bounds order ids (the orders module issues UUIDs).
const MaxOrderIDLen = 100

// Payment is the payment of one order.
//
// A capture, void or refund is recorded as pending before the gateway is
// called and settled when the gateway confirmed it. While one is pending no
// opposite operation starts, and a retry finishes it with the same
// idempotency key: the gateway applies it once, whoever asks and however
// often. Whoever takes the pending operation up (a request starting or
// retrying it, or the sweep that finishes abandoned ones, when it claims
// the payment) stamps the time, so that the sweep knows which ones nobody
// has tried for a while.
type Payment struct {
	id, orderID, status string
	userID              string // the order's customer, who may read the payment; empty for payments made before it was kept
	amount              Money
	cardToken           string
	brand, last4        string
	reason, providerRef string
	pending             string
	attemptedAt         time.Time // when pending was last taken up; zero when nothing is pending
	authorizedAt        time.Time // zero: never
	capturedAt          time.Time
	refundedAt          time.Time
	createdAt           time.Time
	updatedAt           time.Time
}

// AuthorizeInput is a caller's request to authorize a payment.
type AuthorizeInput struct {
	OrderID   string
	UserID    string // the order's customer
	Amount    int64
	Currency  string
	CardToken string
}

// AuthorizeRequest is a validated request to authorize a payment.
type AuthorizeRequest struct {
	OrderID   string
	UserID    string
	Amount    Money
	CardToken string
}

// NewAuthorizeRequest checks the input: KindInvalid names order_id,
// user_id (given and not a UUID), amount, amount.currency or card_token (not
// a token of this module).
func NewAuthorizeRequest(in AuthorizeInput) (AuthorizeRequest, error) {
	orderID, amount, currency, cardToken := in.OrderID, in.Amount, in.Currency, in.CardToken
	var f errs.Fields
	if orderID == "" || strings.TrimSpace(orderID) != orderID || len(orderID) > MaxOrderIDLen {
		f.Add("order_id", "required", "is required: up to 100 characters without surrounding spaces")
	}
	userID := in.UserID
	if userID != "" {
		if u, err := uuid.Parse(userID); err != nil {
			f.Add("user_id", "uuid", "must be a UUID")
		} else {
			userID = u.String()
		}
	}
	checkMoney(&f, amount, currency)
	if !validToken(cardToken) {
		f.Add("card_token", "token", "must be a token returned by Tokenize")
	}
	if err := f.Err(); err != nil {
		return AuthorizeRequest{}, err
	}
	return AuthorizeRequest{OrderID: orderID, UserID: userID, Amount: Money{amount: amount, currency: currency}, CardToken: cardToken}, nil
}

// Outcome is the gateway's answer to an authorization, as the payment
// records it.
type Outcome struct {
	Status      string // StatusAuthorized, StatusDeclined or StatusFailed
	Reason      string // for declined and failed
	ProviderRef string // for authorized
}

// NewPayment records the outcome of the authorization of r on card.
func NewPayment(r AuthorizeRequest, card Card, o Outcome, now time.Time) (Payment, error) {
	switch {
	case o.Status == StatusAuthorized && o.ProviderRef != "" && o.Reason == "",
		(o.Status == StatusDeclined || o.Status == StatusFailed) && o.Reason != "" && o.ProviderRef == "":
	default:
		return Payment{}, errs.Internal(fmt.Errorf("outcome %+v", o), "record payment")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Payment{}, errs.Internal(fmt.Errorf("payment id: %w", err), "record payment")
	}
	now = now.UTC().Truncate(time.Microsecond)
	p := Payment{
		id: id.String(), orderID: r.OrderID, userID: r.UserID, status: o.Status, amount: r.Amount, cardToken: card.token,
		brand: card.brand, last4: card.last4, reason: o.Reason, providerRef: o.ProviderRef,
		createdAt: now, updatedAt: now,
	}
	if o.Status == StatusAuthorized {
		p.authorizedAt = now
	}
	return p, nil
}

// Matches reports whether r asks for what p was authorized for: a retry,
// not a different payment of the same order.
func (p Payment) Matches(r AuthorizeRequest) bool {
	return p.amount == r.Amount && p.cardToken == r.CardToken
}

// BeginCapture decides what a capture request does at now and records it:
// op is the gateway operation to run (a capture, possibly one under way
// already), or empty when the payment is captured already. KindConflict
// when the payment is not authorized, or a void is under way.
func (p *Payment) BeginCapture(now time.Time) (op string, err error) {
	switch {
	case p.status == StatusCaptured:
		return "", nil
	case p.pending == OpCapture:
		p.take(OpCapture, now)
		return OpCapture, nil
	case p.pending != "":
		return "", errs.E(errs.KindConflict, "the payment is being voided")
	case p.status == StatusAuthorized:
		p.take(OpCapture, now)
		return OpCapture, nil
	}
	return "", errs.E(errs.KindConflict, "the payment is %s, not authorized", p.status)
}

// BeginRefund decides what a refund request does at now and records it:
// an operation under way is finished first (a pending capture is
// completed, then refunded, since the gateway may have taken the money);
// otherwise an authorization is voided and a capture refunded. op is empty
// when there is nothing to give back (voided, refunded, declined, failed).
func (p *Payment) BeginRefund(now time.Time) (op string) {
	switch {
	case p.pending != "":
		p.take(p.pending, now)
	case p.status == StatusAuthorized:
		p.take(OpVoid, now)
	case p.status == StatusCaptured:
		p.take(OpRefund, now)
	}
	return p.pending
}

// Resume is what finishing an abandoned operation does: it names the
// operation under way, empty when nothing is pending (any more). Unlike
// BeginRefund it starts nothing new, so a pending capture ends captured,
// not refunded; and it changes nothing, since the sweep that resumes an
// operation stamped it when it claimed the payment.
func (p Payment) Resume() (op string) { return p.pending }

// take records op as pending, taken up at now. The payment as callers see
// it does not change (updated_at included) until the gateway confirmed op.
func (p *Payment) take(op string, now time.Time) {
	p.pending, p.attemptedAt = op, now.UTC().Truncate(time.Microsecond)
}

// Settle records that the gateway confirmed op and returns the fact to
// publish. When op is no longer pending (another request settled it
// first) nothing changes and fact is nil: each transition happens, and is
// published, once.
func (p *Payment) Settle(op string, now time.Time) (fact any) {
	if p.pending == "" || p.pending != op {
		return nil
	}
	now = now.UTC().Truncate(time.Microsecond)
	switch op {
	case OpCapture:
		p.status, p.capturedAt = StatusCaptured, now
	case OpVoid:
		p.status, p.refundedAt = StatusVoided, now
	case OpRefund:
		p.status, p.refundedAt = StatusRefunded, now
	default:
		return nil
	}
	p.pending, p.attemptedAt, p.updatedAt = "", time.Time{}, now
	if op == OpCapture {
		return Captured{Payment: *p}
	}
	return Refunded{Payment: *p}
}

// Fact returns what a new payment's authorization publishes: Authorized
// or Rejected.
func (p Payment) Fact() any {
	if p.status == StatusAuthorized {
		return Authorized{Payment: p}
	}
	return Rejected{Payment: p}
}

// Facts the payments publish; the module turns them into its events.
type (
	// Authorized: the amount is held on the card.
	Authorized struct{ Payment Payment }
	// Rejected: the authorization was declined or failed.
	Rejected struct{ Payment Payment }
	// Captured: the held amount was taken.
	Captured struct{ Payment Payment }
	// Refunded: the authorization was voided or the capture refunded.
	Refunded struct{ Payment Payment }
)

// RestorePayment rebuilds a stored payment; the store is trusted.
func RestorePayment(id, orderID, userID, status string, amount int64, currency, cardToken, brand, last4, reason, providerRef, pending string,
	attemptedAt, authorizedAt, capturedAt, refundedAt, createdAt, updatedAt time.Time,
) Payment {
	return Payment{
		id: id, orderID: orderID, userID: userID, status: status, amount: Money{amount: amount, currency: currency}, cardToken: cardToken,
		brand: brand, last4: last4, reason: reason, providerRef: providerRef, pending: pending, attemptedAt: utc(attemptedAt),
		authorizedAt: utc(authorizedAt), capturedAt: utc(capturedAt), refundedAt: utc(refundedAt),
		createdAt: createdAt.UTC(), updatedAt: updatedAt.UTC(),
	}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Accessors. Zero times mean "not yet".
func (p Payment) ID() string              { return p.id }
func (p Payment) OrderID() string         { return p.orderID }
func (p Payment) UserID() string          { return p.userID }
func (p Payment) Status() string          { return p.status }
func (p Payment) Amount() Money           { return p.amount }
func (p Payment) CardToken() string       { return p.cardToken }
func (p Payment) Brand() string           { return p.brand }
func (p Payment) Last4() string           { return p.last4 }
func (p Payment) Reason() string          { return p.reason }
func (p Payment) ProviderRef() string     { return p.providerRef }
func (p Payment) Pending() string         { return p.pending }
func (p Payment) AttemptedAt() time.Time  { return p.attemptedAt }
func (p Payment) AuthorizedAt() time.Time { return p.authorizedAt }
func (p Payment) CapturedAt() time.Time   { return p.capturedAt }
func (p Payment) RefundedAt() time.Time   { return p.refundedAt }
func (p Payment) CreatedAt() time.Time    { return p.createdAt }
func (p Payment) UpdatedAt() time.Time    { return p.updatedAt }
