package domain

import "context"

// ProductInfo is what the cart needs to know about a product: how to label
// it and what one unit costs now (deals applied).
type ProductInfo struct {
	ID         string
	SKU        string
	Name       string
	PriceMinor int64
	Currency   string
}

// Prices is the cart's view of the catalog.
type Prices interface {
	// Products returns, by id, the products among ids (at most MaxLines
	// ids in one call) that a customer can buy now; a product missing from
	// the map is unknown or hidden. An error means the catalog could not
	// answer.
	Products(ctx context.Context, ids []string) (map[string]ProductInfo, error)
}

// Stock is the cart's view of the inventory.
type Stock interface {
	// Available returns the quantity available now per product id (at most
	// MaxLines ids in one call); a product missing from the map has none.
	Available(ctx context.Context, ids []string) (map[string]int, error)
}
