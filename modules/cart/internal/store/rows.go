package store

import (
	"time"

	"github.com/shopmonolith/shop/modules/cart/internal/domain"
)

type cartRow struct {
	UserID    string    `gorm:"column:user_id;type:uuid;primaryKey"`
	Currency  string    `gorm:"column:currency"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

func (cartRow) TableName() string { return "carts" }

type lineRow struct {
	UserID         string    `gorm:"column:user_id;type:uuid;primaryKey"`
	ProductID      string    `gorm:"column:product_id;type:uuid;primaryKey"`
	Quantity       int       `gorm:"column:quantity"`
	SKU            string    `gorm:"column:sku"`
	Name           string    `gorm:"column:name"`
	UnitPriceMinor int64     `gorm:"column:unit_price_minor"`
	Currency       string    `gorm:"column:currency"`
	Available      int       `gorm:"column:available"`
	RefreshedAt    time.Time `gorm:"column:refreshed_at"`
	AddedAt        time.Time `gorm:"column:added_at"`
}

func (lineRow) TableName() string { return "cart_items" }

// lineColumns is the select list of lineRow from cart_items aliased i.
const lineColumns = `i.user_id::text AS user_id, i.product_id::text AS product_id, i.quantity, i.sku, i.name,
	i.unit_price_minor, i.currency, i.available, i.refreshed_at, i.added_at`

// cartLineRow is a line joined with its cart.
type cartLineRow struct {
	CartCurrency  string    `gorm:"column:cart_currency"`
	CartUpdatedAt time.Time `gorm:"column:cart_updated_at"`
	Line          lineRow   `gorm:"embedded"`
}

// same reports whether storing b over r would change nothing.
func (r lineRow) same(b lineRow) bool {
	return r.Quantity == b.Quantity && r.SKU == b.SKU && r.Name == b.Name && r.UnitPriceMinor == b.UnitPriceMinor &&
		r.Currency == b.Currency && r.Available == b.Available && r.RefreshedAt.Equal(b.RefreshedAt) && r.AddedAt.Equal(b.AddedAt)
}

func toLineRow(userID string, l domain.Line) lineRow {
	return lineRow{
		UserID: userID, ProductID: l.ProductID(), Quantity: l.Quantity(), SKU: l.SKU(), Name: l.Name(),
		UnitPriceMinor: l.UnitPrice().Amount(), Currency: l.UnitPrice().Currency(), Available: l.Available(),
		RefreshedAt: l.RefreshedAt(), AddedAt: l.AddedAt(),
	}
}

func toLine(r lineRow) domain.Line {
	return domain.RestoreLine(r.ProductID, r.SKU, r.Name, r.Quantity, r.UnitPriceMinor, r.Currency, r.Available, r.RefreshedAt, r.AddedAt)
}

func toCart(userID string, c cartRow, rows []lineRow) domain.Cart {
	lines := make([]domain.Line, len(rows))
	for i, r := range rows {
		lines[i] = toLine(r)
	}
	return domain.RestoreCart(userID, c.Currency, c.UpdatedAt, lines)
}
