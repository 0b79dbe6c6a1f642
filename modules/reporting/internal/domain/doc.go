// Package domain holds the sales figures' rules: what a confirmed order
// counts for (Sale), when an order's events change the figures (the ledger
// of one order), how changes add up (Projection, the same arithmetic the
// store's upserts do), how reports are queried, and who may read or rebuild
// them. It knows storage only through Repository and Tx, and events only as
// journal Records a Decoder gives meaning to; nothing of HTTP, JSON or SQL.
package domain
