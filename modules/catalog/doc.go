// Package catalog is the shop's product catalog: products, categories and
// deals, and the effective price a customer pays now (the list price lowered
// by the best applicable deal). Stock is not here; it belongs to inventory.
//
// The public contract is API in catalog.go; everything else is internal.
//
// Owned tables (schema catalog): categories, products (with a generated
// full-text search column), deals.
//
// Routes:
//
//	GET    /api/products              list (category, q, after, limit, include_inactive)
//	GET    /api/products/:id          one product
//	GET    /api/products/sku/:sku     one product by SKU
//	POST   /api/products              create (admin)
//	PATCH  /api/products/:id          update (admin)
//	DELETE /api/products/:id          deactivate (admin)
//	GET    /api/categories            list (include_inactive)
//	POST   /api/categories            create (admin)
//	PATCH  /api/categories/:id        update (admin)
//	DELETE /api/categories/:id        deactivate (admin)
//	GET    /api/deals                 list (include_inactive)
//	POST   /api/deals                 create (admin)
//	PATCH  /api/deals/:id             update (admin)
//	DELETE /api/deals/:id             deactivate (admin)
//
// Published events: none yet.
//
// Allowed dependencies: none (no other module).
package catalog
