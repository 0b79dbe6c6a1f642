package cart

import (
	"context"
	"time"
)

// API is the signed-in customer's cart as other modules and remote adapters
// see it. There is one cart per user, and every method works on the cart of
// the principal in ctx (customer or admin): without one it returns
// KindUnauthenticated, so nobody can reach another user's cart. Any method
// may also return KindInternal.
//
// Names, prices and availability come from the catalog and inventory when
// the cart is read. When either is slow or failing, the cart answers anyway
// with the last values it saw, and marks those lines Stale.
type API interface {
	// Cart returns the caller's cart (empty when they never added anything).
	// Only the common kinds: KindUnauthenticated, KindInternal.
	//shop:idempotent
	Cart(ctx context.Context) (Cart, error)
	// AddItem adds quantity of a product (to what the cart holds already).
	// KindNotFound names product_id (unknown or hidden product);
	// KindInvalid names quantity (the line would be outside 1..99);
	// KindConflict names product_id when its currency differs from the
	// cart's, or the cart already holds 50 different products;
	// KindUnavailable when the catalog cannot be asked.
	AddItem(ctx context.Context, productID string, quantity int) (Cart, error)
	// SetQuantity sets a line's quantity; 0 removes it. KindNotFound when
	// the cart has no such line; KindInvalid names quantity (outside 0..99).
	SetQuantity(ctx context.Context, productID string, quantity int) (Cart, error)
	// RemoveItem removes a line; removing a missing line changes nothing.
	// Only the common kinds: KindUnauthenticated, KindInternal.
	//shop:idempotent
	RemoveItem(ctx context.Context, productID string) (Cart, error)
	// Clear empties the cart; clearing an empty cart changes nothing. Only
	// the common kinds: KindUnauthenticated, KindInternal.
	//shop:idempotent
	Clear(ctx context.Context) error
}

// Money is an amount in minor units (cents) of a currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// Cart is a customer's cart. Total sums the lines in the cart's currency;
// Stale is set when any line's price or availability is a last known value.
type Cart struct {
	UserID    string    `json:"user_id"`
	Items     []Item    `json:"items"`
	Total     Money     `json:"total"`
	Stale     bool      `json:"stale"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Item is one line of a cart. UnitPrice is the effective price (deals
// applied). Available is the stock available now; InStock says whether the
// line's quantity can be bought. Stale marks a line whose name, price or
// availability could not be refreshed and is the last known value.
// Unavailable marks a product that no longer exists or was hidden: it
// cannot be bought.
type Item struct {
	ProductID   string `json:"product_id"`
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Quantity    int    `json:"quantity"`
	UnitPrice   Money  `json:"unit_price"`
	LineTotal   Money  `json:"line_total"`
	Available   int    `json:"available"`
	InStock     bool   `json:"in_stock"`
	Stale       bool   `json:"stale"`
	Unavailable bool   `json:"unavailable"`
}
