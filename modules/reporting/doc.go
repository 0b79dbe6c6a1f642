// Package reporting keeps the shop's sales figures: sales per day and
// currency, and the best-selling products. It is a read model built only
// from the orders module's events, never from another module's tables.
//
// Every consumed event is appended to the module's own journal in the same
// transaction that updates the figures and marks the event handled, so each
// event counts once however often it is delivered (the inbox drops
// redeliveries; the journal's primary key would too). The orders module
// prunes its outbox after a week, so the journal is what a rebuild replays:
// Rebuild recomputes every figure from it in one transaction and gets
// exactly what handling the events one by one produced. Handlers and
// rebuilds take the journal's lock (SHARE ROW EXCLUSIVE) first, so they
// never interleave; handler batches are serialised too, so two of them can
// never deadlock on the day rows they share. While a long rebuild runs,
// handlers wait (or time out and are retried); reports keep showing the old
// figures until it commits.
//
// An order counts as a sale on the day (UTC) it was confirmed, with its
// total, units and lines, once its confirmation is journalled and as long as
// no cancellation of it is: a cancellation takes back the sale counted, from
// that same day and from the product figures. A cancellation of an order
// whose confirmation was never seen takes back nothing, and a confirmation
// that arrives after the order's cancellation (a dead-lettered event
// replayed late) counts for nothing, so no figure ever goes negative.
//
// This package is the public contract only: API, its DTOs, its events and
// the constants clients use (reporting.go). Importing it links none of the
// implementation, which is reportingmodule (the kernel plug-in that only cmd/
// builds: descriptor, wire set, the adapter from API to the domain) and
// internal/ (everything else; the HTTP handlers are in internal/rest).
//
// Owned tables (schema reporting): journal, sales_daily, product_sales (plus
// the event inbox and outbox every module carries).
//
// Routes:
//
//	GET  /api/reports/sales         per-day sales and totals (from, to, currency) (admin)
//	GET  /api/reports/top-products  best-selling products (limit, currency) (admin)
//	POST /api/reports/rebuild       recompute the figures from the journal (admin)
//
// The handlers (internal/rest) call API and serve its DTOs; the top products come
// in every list's envelope ({items, next_cursor}).
//
// Subscriptions: reporting.sales ← orders.order_confirmed.v1 and
// orders.order_cancelled.v1 (one ordered stream per order).
//
// Published events: none.
//
// Operators: Module.Rebuild is the rebuild as the module itself, for the
// command line.
//
// Allowed dependencies: orders' public package, only to name its events.
package reporting
