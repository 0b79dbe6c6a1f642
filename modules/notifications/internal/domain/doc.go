// Package domain holds the notification rules: what a welcome message says,
// who may read the mailbox, and how it is paged. It knows storage only
// through Repository, and nothing of HTTP, JSON, SQL or events.
package domain
