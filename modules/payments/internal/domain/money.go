package domain

import (
	"regexp"

	"github.com/shopmonolith/shop/platform/errs"
)

// MaxAmount is the largest amount one payment may hold, in minor units
// (one billion in major units): anything above is a mistake, not a sale.
const MaxAmount int64 = 1_000_000_000_00

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// Money is a positive amount in minor units of a currency.
type Money struct {
	amount   int64
	currency string
}

// NewMoney checks an amount to be paid: KindInvalid names amount (not
// 1..MaxAmount) or amount.currency (not three upper-case letters).
func NewMoney(amount int64, currency string) (Money, error) {
	var f errs.Fields
	checkMoney(&f, amount, currency)
	if err := f.Err(); err != nil {
		return Money{}, err
	}
	return Money{amount: amount, currency: currency}, nil
}

func checkMoney(f *errs.Fields, amount int64, currency string) {
	if amount <= 0 {
		f.Add("amount", "gt", "must be greater than 0")
	}
	if amount > MaxAmount {
		f.Add("amount", "lte", "must be at most 100000000000")
	}
	if !currencyPattern.MatchString(currency) {
		f.Add("amount.currency", "currency", "must be three upper-case letters (ISO 4217)")
	}
}

// Amount is in minor units (cents).
func (m Money) Amount() int64 { return m.amount }

// Currency is the ISO 4217 code.
func (m Money) Currency() string { return m.currency }
