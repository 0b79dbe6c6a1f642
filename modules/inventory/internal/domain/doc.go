// Package domain holds the inventory rules: what a stock level may be, how a
// reservation moves between held, committed, released, expired and rejected,
// and who may do what. It knows storage only through Repository and Tx, and
// nothing of HTTP, JSON, SQL or events.
package domain
