package domain

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

// Limits of a cart.
const (
	MaxQuantity = 99 // units of one product in one line
	MaxLines    = 50 // different products in one cart
)

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// Money is an amount in minor units of a currency.
type Money struct {
	amount   int64
	currency string
}

// Amount is in minor units (cents).
func (m Money) Amount() int64 { return m.amount }

// Currency is the ISO 4217 code.
func (m Money) Currency() string { return m.currency }

// Line is one product in a cart. Its SKU, name, price and availability are
// the last values the catalog and the inventory reported; Stale and
// Unavailable say how far they can be trusted in the cart being shown.
type Line struct {
	productID   string
	sku, name   string
	quantity    int
	price       Money
	available   int
	refreshedAt time.Time
	addedAt     time.Time
	stale       bool
	unavailable bool
}

// RestoreLine rebuilds a stored line; the store is trusted.
func RestoreLine(productID, sku, name string, quantity int, priceMinor int64, currency string,
	available int, refreshedAt, addedAt time.Time) Line {
	return Line{
		productID: productID, sku: sku, name: name, quantity: quantity,
		price: Money{amount: priceMinor, currency: currency}, available: available,
		refreshedAt: refreshedAt.UTC(), addedAt: addedAt.UTC(),
	}
}

// ProductID is the catalog's id of the line's product.
func (l Line) ProductID() string { return l.productID }

// SKU is the product's stock keeping unit.
func (l Line) SKU() string { return l.sku }

// Name is the product's name.
func (l Line) Name() string { return l.name }

// Quantity is how many units the line holds, 1..MaxQuantity.
func (l Line) Quantity() int { return l.quantity }

// UnitPrice is the price of one unit, deals applied.
func (l Line) UnitPrice() Money { return l.price }

// Available is the stock available, never negative.
func (l Line) Available() int { return l.available }

// RefreshedAt is when the line's values were last taken from the catalog
// and the inventory and found new (or the product was added).
func (l Line) RefreshedAt() time.Time { return l.refreshedAt }

// AddedAt is when the product was first put in the cart; it orders the lines.
func (l Line) AddedAt() time.Time { return l.addedAt }

// Stale reports that the line's name, price or availability could not be
// refreshed and is the last known value.
func (l Line) Stale() bool { return l.stale }

// Unavailable reports that the product cannot be bought: it no longer
// exists, is hidden, or is now priced in another currency than the cart.
func (l Line) Unavailable() bool { return l.unavailable }

// LineTotal is the unit price times the quantity. It cannot overflow:
// catalog prices stay below 10^10 and a cart below 50 × 99 units.
func (l Line) LineTotal() Money {
	return Money{amount: l.price.amount * int64(l.quantity), currency: l.price.currency}
}

// InStock reports whether the line's quantity can be bought now.
func (l Line) InStock() bool { return !l.unavailable && l.available >= l.quantity }

// sameValues reports whether two versions of a line show the same product
// values, that is whether storing b over a would change anything.
func (l Line) sameValues(b Line) bool {
	return l.sku == b.sku && l.name == b.name && l.price == b.price && l.available == b.available
}

// Cart is one user's cart. Every line is priced in the cart's currency.
type Cart struct {
	userID    string
	currency  string
	lines     []Line // in the order they were added
	updatedAt time.Time
	stale     bool
}

// NewCart returns the empty cart of a user.
func NewCart(userID string) Cart { return Cart{userID: userID} }

// RestoreCart rebuilds a stored cart; the store is trusted.
func RestoreCart(userID, currency string, updatedAt time.Time, lines []Line) Cart {
	return Cart{userID: userID, currency: currency, updatedAt: updatedAt.UTC(), lines: slices.Clone(lines)}
}

// UserID names the cart's owner.
func (c Cart) UserID() string { return c.userID }

// UpdatedAt is when the owner last changed the cart; zero for an empty
// one, as an empty cart is not stored.
func (c Cart) UpdatedAt() time.Time {
	if len(c.lines) == 0 {
		return time.Time{}
	}
	return c.updatedAt
}

// Currency is the currency of every line; empty for an empty cart.
func (c Cart) Currency() string {
	if len(c.lines) == 0 {
		return ""
	}
	return c.currency
}

// Lines returns the lines in the order they were added.
func (c Cart) Lines() []Line { return slices.Clone(c.lines) }

// Stale reports that some line shows last known values.
func (c Cart) Stale() bool { return c.stale }

// Total sums the lines that can be bought; an unavailable product is shown
// but costs nothing, as it cannot be checked out.
func (c Cart) Total() Money {
	total := Money{currency: c.Currency()}
	for _, l := range c.lines {
		if !l.unavailable {
			total.amount += l.LineTotal().amount
		}
	}
	return total
}

// Line returns the line of a product.
func (c Cart) Line(productID string) (Line, bool) {
	i := c.index(productID)
	if i < 0 {
		return Line{}, false
	}
	return c.lines[i], true
}

func (c Cart) index(productID string) int {
	return slices.IndexFunc(c.lines, func(l Line) bool { return l.productID == productID })
}

// Add puts quantity units of p into the cart, on top of what its line
// holds already, and takes p's current values as the line's last known
// ones. KindInvalid names quantity when the line would leave 1..MaxQuantity;
// KindConflict names product_id when p is priced in another currency than
// the cart's other lines, or when a new line would exceed MaxLines.
func (c *Cart) Add(p ProductInfo, quantity int, now time.Time) error {
	if err := checkAddQuantity(quantity); err != nil {
		return err
	}
	if err := checkProduct(p); err != nil {
		return err
	}
	now = now.UTC().Truncate(time.Microsecond) // PostgreSQL's precision
	i := c.index(p.ID)
	others := len(c.lines)
	if i >= 0 {
		others--
	}
	if others > 0 && p.Currency != c.currency {
		return conflict(fmt.Sprintf("is priced in %s; this cart holds %s products", p.Currency, c.currency))
	}
	line := Line{productID: p.ID, addedAt: now}
	if i >= 0 {
		line = c.lines[i]
	} else if len(c.lines) >= MaxLines {
		return conflict(fmt.Sprintf("would be product number %d; a cart holds at most %d", MaxLines+1, MaxLines))
	}
	if line.quantity+quantity > MaxQuantity {
		return errs.Invalid(errs.Field("quantity", "range",
			fmt.Sprintf("the cart holds %d already; a line holds at most %d", line.quantity, MaxQuantity)))
	}
	line.quantity += quantity
	line.sku, line.name = p.SKU, p.Name
	line.price = Money{amount: p.PriceMinor, currency: p.Currency}
	line.refreshedAt = now
	if i >= 0 {
		c.lines[i] = line
	} else {
		c.lines = append(c.lines, line)
	}
	c.currency, c.updatedAt = p.Currency, now
	return nil
}

// SetQuantity sets a line's quantity; 0 removes the line. KindInvalid names
// quantity outside 0..MaxQuantity; KindNotFound names product_id when the
// cart has no such line.
func (c *Cart) SetQuantity(productID string, quantity int, now time.Time) error {
	if err := checkSetQuantity(quantity); err != nil {
		return err
	}
	i := c.index(productID)
	if i < 0 {
		return noLine()
	}
	if quantity == 0 {
		c.Remove(productID, now)
		return nil
	}
	if c.lines[i].quantity != quantity {
		c.lines[i].quantity = quantity
		c.updatedAt = now.UTC().Truncate(time.Microsecond)
	}
	return nil
}

// Remove takes a product's line out of the cart and reports whether there
// was one.
func (c *Cart) Remove(productID string, now time.Time) bool {
	i := c.index(productID)
	if i < 0 {
		return false
	}
	c.lines = slices.Delete(c.lines, i, i+1)
	c.updatedAt = now.UTC().Truncate(time.Microsecond)
	return true
}

// checkAddQuantity checks what a customer asks to add, before anything
// else is asked of the catalog.
func checkAddQuantity(quantity int) error {
	if quantity < 1 || quantity > MaxQuantity {
		return errs.Invalid(errs.Field("quantity", "range", fmt.Sprintf("must be between 1 and %d", MaxQuantity)))
	}
	return nil
}

func checkSetQuantity(quantity int) error {
	if quantity < 0 || quantity > MaxQuantity {
		return errs.Invalid(errs.Field("quantity", "range", fmt.Sprintf("must be between 0 and %d", MaxQuantity)))
	}
	return nil
}

// checkProduct refuses what the catalog should never send: a line must be
// storable and summable.
func checkProduct(p ProductInfo) error {
	if _, err := uuid.Parse(p.ID); err != nil || p.PriceMinor < 0 || !currencyPattern.MatchString(p.Currency) {
		return errs.Internal(fmt.Errorf("catalog product %+v cannot be put in a cart", p), "price the product")
	}
	return nil
}

// ParseProductID returns the canonical form of a product id, or false when
// it cannot name a product.
func ParseProductID(s string) (string, bool) {
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

func conflict(message string) error {
	return &errs.Error{Kind: errs.KindConflict, Message: "product_id " + message,
		Fields: []errs.FieldError{errs.Field("product_id", "cart", message)}}
}

func unknownProduct() error {
	return &errs.Error{Kind: errs.KindNotFound, Message: "product not found",
		Fields: []errs.FieldError{errs.Field("product_id", "exists", "names no product that can be bought")}}
}

func noLine() error {
	return &errs.Error{Kind: errs.KindNotFound, Message: "the cart holds no such product",
		Fields: []errs.FieldError{errs.Field("product_id", "in_cart", "is not in the cart")}}
}
