// Package domain holds the catalog's business rules: validated products,
// categories and deals, the effective-price computation, and the Service that
// authorizes callers and drives the Repository. It knows nothing of HTTP,
// JSON or SQL.
package domain
