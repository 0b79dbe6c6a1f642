package domain

import (
	"regexp"

	"github.com/shopmonolith/shop/platform/errs"
)

// MaxPriceMinor is the highest list price (100 million in major units).
const MaxPriceMinor int64 = 100_000_000_00

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// Money is an amount in minor units of a currency.
type Money struct {
	amount   int64
	currency string
}

// Amount is in minor units (cents).
func (m Money) Amount() int64 { return m.amount }

// Currency is the ISO-4217-like code.
func (m Money) Currency() string { return m.currency }

func checkPrice(f *errs.Fields, amount int64) {
	if amount < 0 {
		f.Add("price_minor", "gte", "must be greater than or equal to 0")
	}
	if amount > MaxPriceMinor {
		f.Add("price_minor", "lte", "must be less than or equal to 10000000000")
	}
}

func checkCurrency(f *errs.Fields, field, currency string) {
	if !currencyPattern.MatchString(currency) {
		f.Add(field, "currency", "must be three upper-case letters (ISO 4217)")
	}
}
