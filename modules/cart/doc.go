// Package cart is the shopping cart: one cart per user (customer or admin),
// holding up to 50 products of one currency, up to 99 units each. Every
// method works on the cart of the principal in ctx and takes no user id,
// so nobody can reach another user's cart.
//
// The cart prices itself when it is read: it asks the catalog for the
// products of all lines in one call (catalog.API.Products) and, at the same
// time, the inventory for their availability in one call, under one deadline
// (SHOP_CART_CATALOG_TIMEOUT, 500ms by default). Fresh values are shown and
// the ones that changed are stored as the line's last known values. When
// the catalog or the inventory fails or misses the deadline, the cart
// still answers with the last known values, marking those lines and the
// cart stale. A product the catalog no longer shows (deleted or hidden),
// or one now priced in another currency than the cart, stays in the cart
// marked unavailable: it is not removed behind the customer's back, but it
// counts for nothing in the total and cannot be bought. Adding a product
// needs the catalog (KindUnavailable without it): a product the cart
// cannot price cannot be added.
//
// The catalog is asked as the cart itself (auth.AsService), so an admin's
// cart is priced as a customer's and never holds a hidden product.
//
// This package is the public contract only: API, its DTOs, its events and
// the constants clients use (cart.go). Importing it links none of the
// implementation, which is cartmodule (the kernel plug-in that only cmd/
// builds: descriptor, wire set, the adapter from API to the domain) and
// internal/ (everything else; the HTTP handlers are in internal/rest).
//
// Owned tables (schema cart): carts (one row per user while the cart holds
// a line) and cart_items (the lines, with their last known SKU, name,
// price, currency and availability). The event tables exist as in every
// module but stay empty.
//
// Routes (all need a session):
//
//	GET    /api/cart                       the caller's cart
//	POST   /api/cart/items                 add {"product_id","quantity"}
//	PUT    /api/cart/items/:product_id     set the quantity {"quantity"}; 0 removes
//	DELETE /api/cart/items/:product_id     remove a line
//	DELETE /api/cart                       empty the cart (204)
//
// The handlers (internal/rest) call API and serve its Cart.
//
// Published events: none. Subscriptions: none. The orders module empties a
// cart through Clear after a checkout.
//
// Allowed dependencies: the public packages of catalog (prices) and
// inventory (availability), called only through the narrow interfaces
// domain.Prices and domain.Stock.
package cart
