package domain

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// Service is the cart of the caller in ctx. Every method works on the
// principal's own cart and takes no user id, so no caller can reach
// another user's cart.
type Service struct {
	repo    Repository
	prices  Prices
	stock   Stock
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
}

// NewService returns the service. timeout bounds how long one read or
// AddItem waits for the catalog and the inventory; now is the clock.
func NewService(repo Repository, prices Prices, stock Stock, timeout time.Duration, now func() time.Time, log *slog.Logger) *Service {
	return &Service{repo: repo, prices: prices, stock: stock, timeout: timeout, now: now, log: log}
}

// owner returns the user whose cart ctx works on: KindUnauthenticated
// without a principal, KindForbidden for one that is not a user (a module
// acting on its own behalf has no cart).
func owner(ctx context.Context) (string, error) {
	p, err := auth.RequireUser(ctx)
	if err != nil {
		return "", err
	}
	u, perr := uuid.Parse(p.UserID)
	if !p.Role.Valid() || perr != nil {
		return "", errs.E(errs.KindForbidden, "only a signed-in customer or admin has a cart")
	}
	return u.String(), nil
}

// Cart returns the caller's cart, priced now; lines the catalog or the
// inventory could not refresh in time show their last known values,
// marked stale.
func (s *Service) Cart(ctx context.Context) (Cart, error) {
	user, err := owner(ctx)
	if err != nil {
		return Cart{}, err
	}
	c, err := s.repo.Cart(ctx, user)
	if err != nil {
		return Cart{}, err
	}
	return s.price(ctx, c), nil
}

// AddItem adds quantity units of a product, priced by the catalog now.
// KindNotFound names product_id (unknown, malformed or hidden product);
// KindInvalid names quantity; KindConflict names product_id (currency,
// too many lines); KindUnavailable when the catalog cannot answer in time.
func (s *Service) AddItem(ctx context.Context, productID string, quantity int) (Cart, error) {
	user, err := owner(ctx)
	if err != nil {
		return Cart{}, err
	}
	id, ok := ParseProductID(productID)
	if !ok {
		return Cart{}, unknownProduct()
	}
	if err := checkAddQuantity(quantity); err != nil {
		return Cart{}, err
	}
	p, err := s.product(ctx, id)
	if err != nil {
		return Cart{}, err
	}
	c, err := s.repo.Update(ctx, user, func(c *Cart) error { return c.Add(p, quantity, s.now()) })
	if err != nil {
		return Cart{}, err
	}
	return s.price(ctx, c), nil
}

// product asks the catalog for one product under the deadline.
func (s *Service) product(ctx context.Context, id string) (ProductInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	found, err := ask(ctx, func(ctx context.Context) (map[string]ProductInfo, error) {
		return s.prices.Products(ctx, []string{id})
	})
	p, ok := found[id]
	switch {
	case err != nil:
		// A product the cart cannot price now cannot be added; the customer
		// may retry. The HTTP edge logs only internal errors, so the cause
		// is logged here.
		s.log.WarnContext(ctx, "catalog did not price a product for the cart", slog.String("product_id", id), slog.Any("error", err))
		return ProductInfo{}, errs.Wrap(errs.KindUnavailable, err, "the catalog cannot price the product right now; try again")
	case !ok:
		return ProductInfo{}, unknownProduct()
	case p.ID != id:
		return ProductInfo{}, errs.Internal(fmt.Errorf("asked the catalog for %s, got %q", id, p.ID), "price the product")
	}
	return p, nil
}

// SetQuantity sets a line's quantity; 0 removes it. KindNotFound names
// product_id when the cart has no such line; KindInvalid names quantity.
func (s *Service) SetQuantity(ctx context.Context, productID string, quantity int) (Cart, error) {
	user, err := owner(ctx)
	if err != nil {
		return Cart{}, err
	}
	if err := checkSetQuantity(quantity); err != nil {
		return Cart{}, err // before the product id: what is wrong with the request is said first
	}
	id, ok := ParseProductID(productID)
	if !ok {
		return Cart{}, noLine()
	}
	c, err := s.repo.Update(ctx, user, func(c *Cart) error { return c.SetQuantity(id, quantity, s.now()) })
	if err != nil {
		return Cart{}, err
	}
	return s.price(ctx, c), nil
}

// RemoveItem removes a product's line; a missing line changes nothing.
func (s *Service) RemoveItem(ctx context.Context, productID string) (Cart, error) {
	user, err := owner(ctx)
	if err != nil {
		return Cart{}, err
	}
	var c Cart
	if id, ok := ParseProductID(productID); ok {
		c, err = s.repo.Update(ctx, user, func(c *Cart) error { c.Remove(id, s.now()); return nil })
	} else {
		c, err = s.repo.Cart(ctx, user) // no line can have this id
	}
	if err != nil {
		return Cart{}, err
	}
	return s.price(ctx, c), nil
}

// Clear empties the caller's cart; an empty cart stays as it is.
func (s *Service) Clear(ctx context.Context) error {
	user, err := owner(ctx)
	if err != nil {
		return err
	}
	return s.repo.Clear(ctx, user)
}

// price refreshes a stored cart from the catalog and the inventory and
// remembers the values that changed. Remembering is best effort: the
// answer is right without it, and a failure only leaves older last known
// values for a later outage.
func (s *Service) price(ctx context.Context, c Cart) Cart {
	if len(c.lines) == 0 {
		return c
	}
	ids := make([]string, len(c.lines))
	for i, l := range c.lines {
		ids[i] = l.productID
	}
	a := s.lookup(ctx, ids)
	out, changed := c.refreshed(a, s.now())
	if err := a.failures(); err != nil {
		s.log.WarnContext(ctx, "cart shows last known values", slog.Int("stale_lines", countStale(out)), slog.Any("error", err))
	}
	if len(changed) > 0 {
		if err := s.repo.Remember(ctx, c.userID, changed); err != nil {
			s.log.WarnContext(ctx, "cart could not remember refreshed values", slog.Any("error", err))
		}
	}
	return out
}

func countStale(c Cart) int {
	n := 0
	for _, l := range c.lines {
		if l.stale {
			n++
		}
	}
	return n
}
