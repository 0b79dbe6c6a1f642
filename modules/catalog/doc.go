// Package catalog is the shop's product catalog: products, categories and
// deals, and the effective price a customer pays now (the list price lowered
// by the best applicable deal). Stock is not here; it belongs to inventory.
//
// This package is the public contract only: API, its DTOs, its events and
// constants (catalog.go). Importing it links none of the implementation.
// The implementation is catalogmodule (the kernel plug-in that only cmd/
// builds: descriptor, wire set, the adapter from API to the domain, event
// publishing) and internal/ (domain, store, the deal announcer, and the
// HTTP handlers in internal/rest).
//
// Owned tables (schema catalog): categories, products (with a generated
// full-text search column), deals (with the times its start and end were
// announced), and the event tables event_outbox and event_inbox.
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
// The handlers (internal/rest) call API and serve its DTOs; every list is
// {"items", "next_cursor"}.
//
// Published events (catalog.go), each in the transaction of its change:
//
//	catalog.product_created.v1        ProductCreated (also for seeded products)
//	catalog.product_updated.v1        ProductUpdated, on any change incl. deactivation
//	catalog.product_price_changed.v1  ProductPriceChanged, also on a currency change
//	catalog.deal_started.v1           DealStarted, once, when the start time passed
//	catalog.deal_ended.v1             DealEnded, once, after DealStarted, when the end
//	                                  time passed or the deal was deactivated
//
// Deals start and end with time, so a worker (Start/Stop) announces them:
// it sleeps until the next start or end, or until a deal changes in this
// process, and claims due deals with FOR UPDATE SKIP LOCKED, so that
// replicas running it at once announce each deal once. A deal deactivated
// before it started, or whose whole window passed unannounced, is never
// announced; reactivating an ended deal does not announce it again.
//
// Allowed dependencies: none (no other module).
package catalog
