package cartmodule

import (
	"context"
	"log/slog"

	"github.com/shopmonolith/shop/modules/cart/internal/domain"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/kernel"
)

// NewWithNeighbours is New on the consumer-side interfaces, so tests can
// put a failing or slow catalog or inventory behind the cart.
func NewWithNeighbours(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config,
	prices domain.Prices, stock domain.Stock) (*Module, error) {
	return newModule(ctx, dbs, log, cfg, prices, stock)
}

// PricesOf is the adapter New puts on the catalog.
func PricesOf(api catalog.API) domain.Prices { return catalogPrices{api: api} }
