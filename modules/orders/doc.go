// Package orders turns a customer's cart into an order and sees it through:
// checkout with an idempotency key, a saga across inventory and payments
// with compensation on every failure, the order's status timeline, order
// history, cancellation and shipping.
//
// This package is the public contract only: API, its DTOs, its events and
// the constants clients use (orders.go). Importing it links none of the
// implementation, which is ordersmodule (the kernel plug-in that only cmd/
// builds: descriptor, wire set, the adapter from API to the domain) and
// internal/ (everything else; the HTTP handlers are in internal/rest).
//
// Owned tables (schema orders): orders, order_items (the snapshot of what
// was bought at which price), order_timeline, idempotency_keys, and the
// event tables event_outbox and event_inbox.
//
// Routes:
//
//	POST /api/orders             checkout (Idempotency-Key header; body {card_number})
//	GET  /api/orders             own orders; admins: all (user_id, status, after, limit)
//	GET  /api/orders/:id         one order with its timeline
//	POST /api/orders/:id/cancel  cancel before shipping
//	POST /api/orders/:id/ship    mark shipped (admin)
//
// The handlers (internal/rest) call API and serve its DTOs (Order, Page), so the
// HTTP shape and the remote one cannot drift apart.
//
// The saga is orchestrated by this module and driven by its own events,
// all keyed by the order id and handled in order by one subscriber
// (orders.saga):
//
//	orders.order_placed.v1          → inventory.Reserve  → stock_reserved, or rejected
//	orders.order_stock_reserved.v1  → payments.Authorize → confirmed, or (inventory.Release) failed
//	orders.order_confirmed.v1       → inventory.Commit, payments.Capture
//	orders.order_cancelled.v1       → inventory.Release, payments.Refund
//
// No transaction or lock is held across a neighbour's call: each step runs
// outside any transaction (events.SubscribeCalls), reads the order, calls an
// idempotent command of a neighbour (keyed by the order id) as the module's
// service principal, and then, in one short transaction, locks the order,
// checks it is still where the step expects it and records the outcome with
// the next event. An order cancelled while a call was in flight records
// nothing of it; the cancellation's step, which runs after it, gives back
// what the call took. A failed step is retried by the event pipeline, so a
// step repeated after a crash asks the neighbour again and gets the same
// answer.
// Orchestration (rather than choreography, where inventory and payments
// would react to orders' events) keeps the module graph a DAG: inventory
// and payments know nothing of orders, and orders depends on their public
// APIs only.
//
// Published events (orders.go): order_placed, order_stock_reserved,
// order_confirmed, order_rejected, order_failed, order_cancelled,
// order_shipped, all v1, in the transaction of the change.
//
// Checkout is idempotent per customer and Idempotency-Key: the key is
// stored with the order in one transaction, a repeated request returns the
// first order (200, Idempotent-Replayed: true), a concurrent duplicate waits
// on the key's row and then does the same, and a key reused with another
// card number is a conflict. After the order commits, the cart is cleared
// (best effort: an order never depends on it).
//
// Allowed dependencies: cart, inventory, payments.
package orders
