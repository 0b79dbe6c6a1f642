package domain

import (
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// Deal kinds.
const (
	DealPercent = "percent" // value is the percentage off, 1..99
	DealFixed   = "fixed"   // value is the amount off in minor units of currency
)

// Deal lowers the price of one product or of every product of a category
// during a time window.
type Deal struct {
	id         string
	name       string
	kind       string
	value      int64
	currency   string
	productID  string
	categoryID string
	startsAt   time.Time
	endsAt     time.Time
	active     bool
	createdAt  time.Time
	updatedAt  time.Time
}

// DealSpec is the input of NewDeal.
type DealSpec struct {
	Name, Kind                      string
	Value                           int64
	Currency, ProductID, CategoryID string
	StartsAt, EndsAt                time.Time
}

// DealChanges is a partial update; nil means unchanged. Kind, currency and
// target are fixed at creation: changing them makes a different deal.
type DealChanges struct {
	Name             *string
	Value            *int64
	StartsAt, EndsAt *time.Time
	Active           *bool
}

// DealRecord is a deal as stored; RestoreDeal trusts it.
type DealRecord struct {
	ID, Name, Kind                  string
	Value                           int64
	Currency, ProductID, CategoryID string
	StartsAt, EndsAt                time.Time
	Active                          bool
	CreatedAt, UpdatedAt            time.Time
}

// NewDeal validates spec and returns an active deal (KindInvalid naming the
// JSON fields). Whether the target exists is checked when it is stored.
func NewDeal(s DealSpec, now time.Time) (Deal, error) {
	var f errs.Fields
	d := Deal{
		name:       checkText(&f, "name", s.Name, 1, 100),
		kind:       s.Kind,
		value:      s.Value,
		currency:   s.Currency,
		productID:  parseRef(&f, "product_id", s.ProductID),
		categoryID: parseRef(&f, "category_id", s.CategoryID),
		startsAt:   normTime(s.StartsAt),
		endsAt:     normTime(s.EndsAt),
		active:     true,
		createdAt:  normTime(now),
		updatedAt:  normTime(now),
	}
	d.checkKind(&f)
	d.checkWindow(&f)
	if (s.ProductID == "") == (s.CategoryID == "") {
		f.Add("product_id", "target", "set exactly one of product_id and category_id")
	}
	if err := f.Err(); err != nil {
		return Deal{}, err
	}
	id, err := newID()
	if err != nil {
		return Deal{}, err
	}
	d.id = id
	return d, nil
}

func (d Deal) checkKind(f *errs.Fields) {
	switch d.kind {
	case DealPercent:
		if d.value < 1 || d.value > 99 {
			f.Add("value", "range", "a percent deal takes 1 to 99")
		}
		if d.currency != "" {
			f.Add("currency", "excluded", "a percent deal has no currency")
		}
	case DealFixed:
		if d.value < 1 || d.value > MaxPriceMinor {
			f.Add("value", "range", "a fixed deal takes 1 to 10000000000 minor units")
		}
		checkCurrency(f, "currency", d.currency)
	default:
		f.Add("kind", "oneof", "must be one of: percent fixed")
	}
}

func (d Deal) checkWindow(f *errs.Fields) {
	if d.startsAt.IsZero() {
		f.Add("starts_at", "required", "is required")
	}
	if d.endsAt.IsZero() {
		f.Add("ends_at", "required", "is required")
	}
	if !d.startsAt.IsZero() && !d.endsAt.IsZero() && !d.startsAt.Before(d.endsAt) {
		f.Add("ends_at", "gtfield", "must be after starts_at")
	}
}

// Apply validates and applies changes; on error d is unchanged.
func (d *Deal) Apply(c DealChanges, now time.Time) error {
	var f errs.Fields
	next := *d
	if c.Name != nil {
		next.name = checkText(&f, "name", *c.Name, 1, 100)
	}
	if c.Value != nil {
		next.value = *c.Value
		next.checkKind(&f)
	}
	if c.StartsAt != nil {
		next.startsAt = normTime(*c.StartsAt)
	}
	if c.EndsAt != nil {
		next.endsAt = normTime(*c.EndsAt)
	}
	next.checkWindow(&f)
	if c.Active != nil {
		next.active = *c.Active
	}
	if err := f.Err(); err != nil {
		return err
	}
	next.updatedAt = normTime(now)
	*d = next
	return nil
}

// RestoreDeal rebuilds a stored deal without validation.
func RestoreDeal(r DealRecord) Deal {
	return Deal{
		id: r.ID, name: r.Name, kind: r.Kind, value: r.Value, currency: r.Currency,
		productID: r.ProductID, categoryID: r.CategoryID,
		startsAt: r.StartsAt.UTC(), endsAt: r.EndsAt.UTC(), active: r.Active,
		createdAt: r.CreatedAt.UTC(), updatedAt: r.UpdatedAt.UTC(),
	}
}

// ID is a UUIDv7.
func (d Deal) ID() string { return d.id }

// Name is shown next to the discounted price.
func (d Deal) Name() string { return d.name }

// Kind is DealPercent or DealFixed.
func (d Deal) Kind() string { return d.kind }

// Value is a percentage or an amount in minor units, depending on Kind.
func (d Deal) Value() int64 { return d.value }

// Currency is set for fixed deals only.
func (d Deal) Currency() string { return d.currency }

// ProductID is set when the deal targets one product.
func (d Deal) ProductID() string { return d.productID }

// CategoryID is set when the deal targets a category.
func (d Deal) CategoryID() string { return d.categoryID }

// StartsAt is inclusive.
func (d Deal) StartsAt() time.Time { return d.startsAt }

// EndsAt is exclusive.
func (d Deal) EndsAt() time.Time { return d.endsAt }

// Active deals can apply; deactivated ones never do.
func (d Deal) Active() bool { return d.active }

// CreatedAt is UTC.
func (d Deal) CreatedAt() time.Time { return d.createdAt }

// UpdatedAt is UTC.
func (d Deal) UpdatedAt() time.Time { return d.updatedAt }
