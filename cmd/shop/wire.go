//go:build wireinject

package main

import (
	"context"
	"log/slog"

	"github.com/google/wire"

	"github.com/shopmonolith/shop/modules/cart/cartmodule"
	"github.com/shopmonolith/shop/modules/catalog/catalogmodule"
	"github.com/shopmonolith/shop/modules/identity/identitymodule"
	"github.com/shopmonolith/shop/modules/inventory/inventorymodule"
	"github.com/shopmonolith/shop/modules/notifications/notificationsmodule"
	"github.com/shopmonolith/shop/modules/orders/ordersmodule"
	"github.com/shopmonolith/shop/modules/payments/paymentsmodule"
	"github.com/shopmonolith/shop/modules/reporting/reportingmodule"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
)

// buildApp composes every module behind one HTTP edge.
func buildApp(ctx context.Context, cfg config.Config, log *slog.Logger, dbs *kernel.Databases) (*App, error) {
	wire.Build(
		provideHealth, metrics.New, httpapi.New, provideBus, // the kernel capabilities every module shares
		identitymodule.ProviderSet, catalogmodule.ProviderSet, inventorymodule.ProviderSet, cartmodule.ProviderSet,
		paymentsmodule.ProviderSet, ordersmodule.ProviderSet, notificationsmodule.ProviderSet, reportingmodule.ProviderSet,
		catalogAPI, inventoryAPI, cartAPI, paymentsAPI, // in-process calls between modules
		newApp,
	)
	return nil, nil
}
