package domain

import "context"

// Repository is the storage the Service needs. Methods wrap storage
// failures as KindInternal.
type Repository interface {
	// Cart returns the user's stored cart: the last known values of its
	// lines, never marked stale. A user without one gets an empty cart.
	Cart(ctx context.Context, userID string) (Cart, error)
	// Update runs change on the user's cart in one transaction, with the
	// cart locked against concurrent changes, and stores what change did.
	// An error from change stores nothing and is returned as it is.
	Update(ctx context.Context, userID string, change func(c *Cart) error) (Cart, error)
	// Remember stores the refreshed last known values of lines (SKU, name,
	// price, availability and when they were seen), never their quantity.
	// A line removed in the meantime is skipped.
	Remember(ctx context.Context, userID string, lines []Line) error
	// Clear deletes the user's cart; a user without one is left alone.
	Clear(ctx context.Context, userID string) error
}
