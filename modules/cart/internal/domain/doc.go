// Package domain holds the cart's rules: what a cart may hold (quantities,
// lines, one currency), whose cart a caller works on, and how a cart is
// priced from the catalog and the inventory at read time, falling back to
// the last values it saw when those are slow or failing. It knows storage
// only through Repository and its neighbours only through Prices and Stock,
// and nothing of HTTP, JSON, SQL or the other modules' packages.
package domain
