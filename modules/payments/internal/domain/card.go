package domain

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// Card brands; "card" is any other network.
const (
	BrandVisa       = "visa"
	BrandMastercard = "mastercard"
	BrandAmex       = "amex"
	BrandOther      = "card"
)

// TokenPrefix starts every card token.
const TokenPrefix = "tok_"

// Card is a tokenized card. The number stays inside the module: only the
// gateway sees it.
type Card struct {
	token, number, brand, last4 string
	createdAt                   time.Time
}

// NewCard checks a card number (spaces and dashes allowed between digits)
// and gives it a fresh token. KindInvalid names card_number when it is not
// 12..19 digits or fails the Luhn check.
func NewCard(number string, now time.Time) (Card, error) {
	digits, err := ParseCardNumber(number)
	if err != nil {
		return Card{}, err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return Card{}, errs.Internal(fmt.Errorf("card token: %w", err), "tokenize card")
	}
	return Card{
		token: TokenPrefix + hex.EncodeToString(b), number: digits, brand: BrandOf(digits), last4: digits[len(digits)-4:],
		createdAt: now.UTC().Truncate(time.Microsecond),
	}, nil
}

// ParseCardNumber strips spaces and dashes and checks what is left: 12..19
// digits passing the Luhn check.
func ParseCardNumber(s string) (string, error) {
	bad := func(rule, msg string) error { return errs.Invalid(errs.Field("card_number", rule, msg)) }
	if len(s) > 64 { // far more than any formatting of 19 digits
		return "", bad("len", "must be 12 to 19 digits")
	}
	digits := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	for _, r := range digits {
		if r < '0' || r > '9' {
			return "", bad("digits", "must contain only digits, spaces and dashes")
		}
	}
	if len(digits) < 12 || len(digits) > 19 {
		return "", bad("len", "must be 12 to 19 digits")
	}
	if !Luhn(digits) {
		return "", bad("luhn", "is not a valid card number (check digit)")
	}
	return digits, nil
}

// Luhn reports whether a string of digits passes the Luhn check.
func Luhn(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// BrandOf names the card network from the number's prefix.
func BrandOf(digits string) string {
	prefix := func(n int) int {
		v := 0
		for i := range min(n, len(digits)) {
			v = v*10 + int(digits[i]-'0')
		}
		return v
	}
	switch p2, p4 := prefix(2), prefix(4); {
	case digits[0] == '4':
		return BrandVisa
	case p2 == 34 || p2 == 37:
		return BrandAmex
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return BrandMastercard
	}
	return BrandOther
}

// RestoreCard rebuilds a stored card; the store is trusted.
func RestoreCard(token, number, brand, last4 string, createdAt time.Time) Card {
	return Card{token: token, number: number, brand: brand, last4: last4, createdAt: createdAt.UTC()}
}

func (c Card) Token() string        { return c.token }
func (c Card) Number() string       { return c.number }
func (c Card) Brand() string        { return c.brand }
func (c Card) Last4() string        { return c.last4 }
func (c Card) CreatedAt() time.Time { return c.createdAt }

// validToken reports whether s looks like a token this module issued.
func validToken(s string) bool {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok || len(rest) != 32 {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil
}
