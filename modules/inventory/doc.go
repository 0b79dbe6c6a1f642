// Package inventory is the shop's stock: how many units of each product are
// on hand, how many of them are reserved for orders, and the reservations
// themselves. Orders reserve stock when they are placed, commit it when they
// are paid and release it when they are cancelled; a reservation nobody
// commits in time (SHOP_INVENTORY_RESERVATION_TTL) expires and gives its
// stock back.
//
// This package is the public contract only: API, its DTOs, its events and
// the constants clients use (inventory.go). Importing it links none of the
// implementation, which is inventorymodule (the kernel plug-in that only cmd/
// builds: descriptor, wire set, the adapter from API to the domain) and
// internal/ (everything else; the HTTP handlers are in internal/rest).
//
// Correctness under concurrency is the point. A reservation holds all its
// lines or none in one transaction; stock rows are locked in product order
// (SELECT … FOR UPDATE), so concurrent reservations queue instead of
// overselling or deadlocking, and CHECK constraints make the database
// refuse negative or over-reserved stock whatever the code does. Reserve,
// Commit and Release are idempotent per reservation id: the insert of the
// id decides which of several concurrent calls holds the stock, and the
// others return its answer. A Release of an id nobody reserved records a
// tombstone, so a Reserve arriving late (a cancelled order's) is rejected.
//
// Owned tables (schema inventory): stock, reservations, reservation_lines,
// and the event tables event_outbox and event_inbox.
//
// Routes:
//
//	GET  /api/inventory?product_id=…[&product_id=…]   levels (also a comma list; public)
//	PUT  /api/inventory/:product_id                   set on hand {"on_hand": n} (admin)
//	POST /api/inventory/:product_id/adjustments       add to on hand {"delta": n} (admin)
//	GET  /api/inventory/reservations/:id              one reservation (admin)
//
// The handlers (internal/rest) call API and serve its DTOs.
//
// Reserve, Commit and Release are not routes: only modules (the service
// role) and admins call them, through the API.
//
// Published events (inventory.go), each in the transaction of its change:
//
//	inventory.stock_changed.v1        StockChanged, on every change of a product's on-hand
//	                                  or reserved quantity, with the levels after it
//	inventory.reservation_expired.v1  ReservationExpired, when the sweeper gave a
//	                                  reservation's stock back
//
// Consumed events: none.
//
// A worker (Start/Stop) sweeps every SHOP_INVENTORY_SWEEP_INTERVAL: it
// claims held reservations past their expiry with FOR UPDATE SKIP LOCKED,
// so replicas sweeping at once expire each reservation once.
//
// Allowed dependencies: catalog's API, for one operator's task only:
// stocking the first products of the demo catalog (`shop seed`,
// `shop serve --seed-demo`), listed through catalog's API wherever catalog
// runs. Reservations and levels take any product id and ask catalog
// nothing.
package inventory
