package domain

import (
	"fmt"
	"regexp"

	"github.com/shopmonolith/shop/platform/errs"
)

// Money is an amount in minor units of an ISO 4217 currency.
type Money struct {
	Amount   int64
	Currency string
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// minorDigits lists the ISO 4217 currencies whose minor unit is not a
// hundredth; every other currency has two decimals.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// String formats the amount for people: 1234 EUR is "12.34 EUR", 1234 JPY
// is "1234 JPY".
func (m Money) String() string {
	digits, ok := minorDigits[m.Currency]
	if !ok {
		digits = 2
	}
	sign, n := "", uint64(m.Amount)
	if m.Amount < 0 {
		sign, n = "-", uint64(-(m.Amount+1))+1 // also right for math.MinInt64
	}
	if digits == 0 {
		return fmt.Sprintf("%s%d %s", sign, n, m.Currency)
	}
	unit := uint64(1)
	for range digits {
		unit *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, n/unit, digits, n%unit, m.Currency)
}

func checkMoney(f *errs.Fields, field string, m Money) {
	if m.Amount < 0 {
		f.Add(field+".amount", "range", "must not be negative")
	}
	if !currencyPattern.MatchString(m.Currency) {
		f.Add(field+".currency", "currency", "must be three upper-case letters")
	}
}
