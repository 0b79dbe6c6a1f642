package domain

import (
	"regexp"
	"strings"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

var skuPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Product is a sellable item. Its fields are private so that every Product
// in the program went through NewProduct, Apply or RestoreProduct.
type Product struct {
	id          string
	sku         string
	name        string
	description string
	price       Money
	categoryID  string
	active      bool
	createdAt   time.Time
	updatedAt   time.Time
}

// ProductSpec is the input of NewProduct.
type ProductSpec struct {
	SKU, Name, Description, CategoryID, Currency string
	PriceMinor                                   int64
}

// ProductChanges is a partial update; nil means unchanged. An empty
// CategoryID removes the product from its category.
type ProductChanges struct {
	Name, Description, CategoryID, Currency *string
	PriceMinor                              *int64
	Active                                  *bool
}

// ProductRecord is a product as stored; RestoreProduct trusts it.
type ProductRecord struct {
	ID, SKU, Name, Description, CategoryID, Currency string
	PriceMinor                                       int64
	Active                                           bool
	CreatedAt, UpdatedAt                             time.Time
}

// NormalizeSKU upper-cases a SKU: SKUs are unique case-insensitively.
func NormalizeSKU(sku string) string { return strings.ToUpper(strings.TrimSpace(sku)) }

// NewProduct validates spec and returns an active product. Errors are
// KindInvalid naming the JSON fields.
func NewProduct(spec ProductSpec, now time.Time) (Product, error) {
	var f errs.Fields
	sku := NormalizeSKU(spec.SKU)
	if !skuPattern.MatchString(sku) {
		f.Add("sku", "sku", "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
	}
	p := Product{
		sku:         sku,
		name:        checkText(&f, "name", spec.Name, 1, 200),
		description: checkLongText(&f, "description", spec.Description, 0, 5000),
		categoryID:  parseRef(&f, "category_id", spec.CategoryID),
		price:       Money{amount: spec.PriceMinor, currency: spec.Currency},
		active:      true,
		createdAt:   normTime(now),
		updatedAt:   normTime(now),
	}
	checkPrice(&f, spec.PriceMinor)
	checkCurrency(&f, "currency", spec.Currency)
	if err := f.Err(); err != nil {
		return Product{}, err
	}
	id, err := newID()
	if err != nil {
		return Product{}, err
	}
	p.id = id
	return p, nil
}

// Apply changes p in place after validating every change; on error p is
// unchanged.
func (p *Product) Apply(c ProductChanges, now time.Time) error {
	var f errs.Fields
	next := *p
	if c.Name != nil {
		next.name = checkText(&f, "name", *c.Name, 1, 200)
	}
	if c.Description != nil {
		next.description = checkLongText(&f, "description", *c.Description, 0, 5000)
	}
	if c.CategoryID != nil {
		next.categoryID = parseRef(&f, "category_id", *c.CategoryID)
	}
	if c.PriceMinor != nil {
		checkPrice(&f, *c.PriceMinor)
		next.price.amount = *c.PriceMinor
	}
	if c.Currency != nil {
		checkCurrency(&f, "currency", *c.Currency)
		next.price.currency = *c.Currency
	}
	if c.Active != nil {
		next.active = *c.Active
	}
	if err := f.Err(); err != nil {
		return err
	}
	next.updatedAt = normTime(now)
	*p = next
	return nil
}

// RestoreProduct rebuilds a stored product without validation.
func RestoreProduct(r ProductRecord) Product {
	return Product{
		id: r.ID, sku: r.SKU, name: r.Name, description: r.Description,
		price:      Money{amount: r.PriceMinor, currency: r.Currency},
		categoryID: r.CategoryID, active: r.Active,
		createdAt: r.CreatedAt.UTC(), updatedAt: r.UpdatedAt.UTC(),
	}
}

// ID is a UUIDv7.
func (p Product) ID() string { return p.id }

// SKU is upper-case.
func (p Product) SKU() string { return p.sku }

// Name is the display name.
func (p Product) Name() string { return p.name }

// Description may be empty.
func (p Product) Description() string { return p.description }

// Price is the list price.
func (p Product) Price() Money { return p.price }

// CategoryID is empty when the product has no category.
func (p Product) CategoryID() string { return p.categoryID }

// Active products are visible to customers.
func (p Product) Active() bool { return p.active }

// CreatedAt is UTC.
func (p Product) CreatedAt() time.Time { return p.createdAt }

// UpdatedAt is UTC.
func (p Product) UpdatedAt() time.Time { return p.updatedAt }
