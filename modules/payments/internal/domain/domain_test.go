package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

func TestParseCardNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, digits, brand string
		rule              string // broken rule; empty when valid
	}{
		{"4242424242424242", "4242424242424242", BrandVisa, ""},
		{" 4242 4242-4242 4242 ", "4242424242424242", BrandVisa, ""},
		{"5105105105105100", "5105105105105100", BrandMastercard, ""},
		{"2720992593319364", "2720992593319364", BrandMastercard, ""},
		{"371449635398431", "371449635398431", BrandAmex, ""},
		{"3566002020360505", "3566002020360505", BrandOther, ""},
		{"000000000000", "000000000000", BrandOther, ""}, // 12 digits, Luhn-valid
		{"4242424242424241", "", "", "luhn"},
		{"42424242424", "", "", "len"},
		{"42424242424242424242", "", "", "len"},
		{"4242+4242+4242+4242", "", "", "digits"},
		{"４２４２４２４２４２４２４２４２", "", "", "digits"}, // full-width digits are not digits here
		{"", "", "", "len"},
		{strings.Repeat(" ", 100), "", "", "len"},
	} {
		got, err := ParseCardNumber(tc.in)
		if tc.rule == "" {
			if err != nil || got != tc.digits || BrandOf(got) != tc.brand {
				t.Errorf("ParseCardNumber(%q) = %q (%s), %v; want %q (%s)", tc.in, got, BrandOf(got), err, tc.digits, tc.brand)
			}
			continue
		}
		var e *errs.Error
		if !errs.Is(err, errs.KindInvalid) || !asErr(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "card_number" || e.Fields[0].Rule != tc.rule {
			t.Errorf("ParseCardNumber(%q) = %q, %v; want card_number breaking %s", tc.in, got, err, tc.rule)
		}
	}
}

func asErr(err error, e **errs.Error) bool { return errors.As(err, e) }

func TestNewCard(t *testing.T) {
	t.Parallel()
	c, err := NewCard("4000 0000 0000 0002", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !validToken(c.Token()) || c.Number() != "4000000000000002" || c.Last4() != "0002" || c.Brand() != BrandVisa {
		t.Errorf("card %+v", c)
	}
	for _, bad := range []string{"", "tok_", "tok_xyz", "tok_" + strings.Repeat("g", 32), "card_" + strings.Repeat("0", 32)} {
		if validToken(bad) {
			t.Errorf("validToken(%q) = true", bad)
		}
	}
}

func TestNewAuthorizeRequest(t *testing.T) {
	t.Parallel()
	ok := AuthorizeInput{OrderID: "o-1", Amount: 100, Currency: "EUR", CardToken: "tok_" + strings.Repeat("a", 32)}
	if _, err := NewAuthorizeRequest(ok); err != nil {
		t.Fatal(err)
	}
	for field, in := range map[string]AuthorizeInput{
		"order_id":        {OrderID: "o-1 ", Amount: 100, Currency: "EUR", CardToken: ok.CardToken},
		"amount":          {OrderID: "o-1", Amount: MaxAmount + 1, Currency: "EUR", CardToken: ok.CardToken},
		"amount.currency": {OrderID: "o-1", Amount: 100, Currency: "EURO", CardToken: ok.CardToken},
		"card_token":      {OrderID: "o-1", Amount: 100, Currency: "EUR", CardToken: "tok_1"},
	} {
		_, err := NewAuthorizeRequest(in)
		var e *errs.Error
		if !asErr(err, &e) || e.Kind != errs.KindInvalid || len(e.Fields) != 1 || e.Fields[0].Field != field {
			t.Errorf("%s: %v, want invalid naming only it", field, err)
		}
	}
}

func payment(t *testing.T, status string) Payment {
	t.Helper()
	r, err := NewAuthorizeRequest(AuthorizeInput{OrderID: "o-1", Amount: 100, Currency: "EUR", CardToken: "tok_" + strings.Repeat("a", 32)})
	if err != nil {
		t.Fatal(err)
	}
	o := Outcome{Status: StatusAuthorized, ProviderRef: "ref"}
	if status == StatusDeclined || status == StatusFailed {
		o = Outcome{Status: status, Reason: "why"}
	}
	p, err := NewPayment(r, Card{token: r.CardToken, brand: BrandVisa, last4: "4242"}, o, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if status != p.status { // a later status, as the store would restore it
		p.status = status
	}
	return p
}

// TestStateMachine: what Capture, Refund and the sweep (Resume) do from
// each status, and that a request taking an operation up stamps the time.
func TestStateMachine(t *testing.T) {
	t.Parallel()
	earlier := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := earlier.Add(time.Hour)
	for _, tc := range []struct {
		status, pending string
		capture         string // the operation BeginCapture starts or resumes; "conflict"; "" for nothing
		refund          string
		resume          string
	}{
		{StatusAuthorized, "", OpCapture, OpVoid, ""},
		{StatusAuthorized, OpCapture, OpCapture, OpCapture, OpCapture}, // a refund finishes the capture first
		{StatusAuthorized, OpVoid, "conflict", OpVoid, OpVoid},
		{StatusCaptured, "", "", OpRefund, ""},
		{StatusCaptured, OpRefund, "", OpRefund, OpRefund},
		{StatusDeclined, "", "conflict", "", ""},
		{StatusFailed, "", "conflict", "", ""},
		{StatusVoided, "", "conflict", "", ""},
		{StatusRefunded, "", "conflict", "", ""},
	} {
		p := payment(t, tc.status)
		if p.pending = tc.pending; p.pending != "" {
			p.attemptedAt = earlier
		}
		taken := func(name, op string, q Payment) {
			if op != "" && !q.attemptedAt.Equal(now) {
				t.Errorf("%s/%s: %s took %s up at %v, want %v", tc.status, tc.pending, name, op, q.attemptedAt, now)
			}
		}
		c := p
		op, err := c.BeginCapture(now)
		if got := op; err != nil {
			if !errs.Is(err, errs.KindConflict) {
				t.Errorf("%s/%s: BeginCapture: %v", tc.status, tc.pending, err)
			}
			got = "conflict"
			if c != p {
				t.Errorf("%s/%s: a refused capture changed the payment", tc.status, tc.pending)
			}
		} else if got != tc.capture || (got != "" && c.pending != got) {
			t.Errorf("%s/%s: BeginCapture = %q (pending %q), want %q", tc.status, tc.pending, got, c.pending, tc.capture)
		} else {
			taken("BeginCapture", got, c)
		}
		r := p
		if got := r.BeginRefund(now); got != tc.refund || r.pending != got {
			t.Errorf("%s/%s: BeginRefund = %q (pending %q), want %q", tc.status, tc.pending, got, r.pending, tc.refund)
		} else {
			taken("BeginRefund", got, r)
		}
		if got := p.Resume(); got != tc.resume {
			t.Errorf("%s/%s: Resume = %q, want %q", tc.status, tc.pending, got, tc.resume)
		}
		if tc.capture == "" && c != p || tc.refund == "" && r != p {
			t.Errorf("%s/%s: a request with nothing to do changed the payment", tc.status, tc.pending)
		}
	}
}

func TestSettle(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tc := range []struct {
		status, op, want string
		fact             any
	}{
		{StatusAuthorized, OpCapture, StatusCaptured, Captured{}},
		{StatusAuthorized, OpVoid, StatusVoided, Refunded{}},
		{StatusCaptured, OpRefund, StatusRefunded, Refunded{}},
	} {
		p := payment(t, tc.status)
		p.pending, p.attemptedAt = tc.op, now.Add(-time.Minute)
		if f := (&Payment{}).Settle(tc.op, now); f != nil {
			t.Errorf("settling what is not pending gave %T", f)
		}
		fact := p.Settle(tc.op, now)
		switch fact.(type) {
		case Captured, Refunded:
		default:
			t.Fatalf("%s: fact %T", tc.op, fact)
		}
		if p.status != tc.want || p.pending != "" || !p.attemptedAt.IsZero() || p.updatedAt.IsZero() {
			t.Errorf("%s: payment %+v", tc.op, p)
		}
		if _, same := fact.(Captured); same != (tc.op == OpCapture) {
			t.Errorf("%s: fact %T", tc.op, fact)
		}
		if (tc.op == OpCapture) != !p.capturedAt.IsZero() || (tc.op != OpCapture) != !p.refundedAt.IsZero() {
			t.Errorf("%s: times %+v", tc.op, p)
		}
		// A second settle (another caller's) changes nothing and publishes nothing.
		again := p
		if f := again.Settle(tc.op, now.Add(time.Second)); f != nil || again != p {
			t.Errorf("%s settled twice: %T", tc.op, f)
		}
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	p := payment(t, StatusAuthorized)
	r := AuthorizeRequest{OrderID: p.orderID, Amount: p.amount, CardToken: p.cardToken}
	if !p.Matches(r) {
		t.Error("the same request does not match")
	}
	other := r
	other.Amount.amount++
	if p.Matches(other) {
		t.Error("another amount matches")
	}
	other = r
	other.CardToken = "tok_" + strings.Repeat("b", 32)
	if p.Matches(other) {
		t.Error("another card matches")
	}
}

func TestNewPaymentRejectsInconsistentOutcomes(t *testing.T) {
	t.Parallel()
	r := AuthorizeRequest{OrderID: "o", Amount: Money{1, "EUR"}, CardToken: "tok_" + strings.Repeat("a", 32)}
	for _, o := range []Outcome{{Status: StatusAuthorized}, {Status: StatusDeclined}, {Status: StatusFailed, ProviderRef: "x", Reason: "y"}, {Status: "weird", Reason: "z"}} {
		if _, err := NewPayment(r, Card{}, o, time.Now()); !errs.Is(err, errs.KindInternal) {
			t.Errorf("outcome %+v: %v, want internal", o, err)
		}
	}
}
