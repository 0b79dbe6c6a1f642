package domain

import (
	"context"
	"time"

	"github.com/shopmonolith/shop/platform/auth"
)

// Service is the catalog's use cases. It authorizes every call itself (in
// addition to any route middleware), so that the API is safe whichever
// adapter calls it.
type Service struct {
	repo Repository
	now  func() time.Time
}

// NewService returns a service on repo; now is the clock (time.Now in
// production, fixed in tests).
func NewService(repo Repository, now func() time.Time) *Service {
	return &Service{repo: repo, now: now}
}

func isAdmin(ctx context.Context) bool {
	p, ok := auth.FromContext(ctx)
	return ok && p.IsAdmin()
}

// requireAdmin returns KindUnauthenticated without a principal and
// KindForbidden for a non-admin.
func requireAdmin(ctx context.Context) error {
	_, err := auth.RequireRole(ctx, auth.RoleAdmin)
	return err
}

// Categories lists categories in creation order; include inactive ones only
// for admins who ask.
func (s *Service) Categories(ctx context.Context, includeInactive bool) ([]Category, error) {
	return s.repo.Categories(ctx, includeInactive && isAdmin(ctx))
}

// CreateCategory needs the admin role; KindInvalid, KindConflict (slug).
func (s *Service) CreateCategory(ctx context.Context, slug, name string) (Category, error) {
	if err := requireAdmin(ctx); err != nil {
		return Category{}, err
	}
	c, err := NewCategory(slug, name, s.now())
	if err != nil {
		return Category{}, err
	}
	if err := s.repo.CreateCategory(ctx, c); err != nil {
		return Category{}, err
	}
	return c, nil
}

// UpdateCategory needs the admin role; KindNotFound, KindInvalid, KindConflict.
func (s *Service) UpdateCategory(ctx context.Context, id string, ch CategoryChanges) (Category, error) {
	if err := requireAdmin(ctx); err != nil {
		return Category{}, err
	}
	id, err := ParseID(id, "category")
	if err != nil {
		return Category{}, err
	}
	return s.repo.UpdateCategory(ctx, id, func(c *Category) error { return c.Apply(ch, s.now()) })
}

// DeactivateCategory hides the category and its products from customers.
func (s *Service) DeactivateCategory(ctx context.Context, id string) error {
	inactive := false
	_, err := s.UpdateCategory(ctx, id, CategoryChanges{Active: &inactive})
	return err
}

// Deals lists deals in creation order: the active ones, or all of them for
// admins who ask.
func (s *Service) Deals(ctx context.Context, includeInactive bool) ([]Deal, error) {
	return s.repo.Deals(ctx, includeInactive && isAdmin(ctx))
}

// CreateDeal needs the admin role; KindInvalid (also for an unknown target).
func (s *Service) CreateDeal(ctx context.Context, spec DealSpec) (Deal, error) {
	if err := requireAdmin(ctx); err != nil {
		return Deal{}, err
	}
	d, err := NewDeal(spec, s.now())
	if err != nil {
		return Deal{}, err
	}
	if err := s.repo.CreateDeal(ctx, d); err != nil {
		return Deal{}, err
	}
	return d, nil
}

// UpdateDeal needs the admin role; KindNotFound, KindInvalid.
func (s *Service) UpdateDeal(ctx context.Context, id string, ch DealChanges) (Deal, error) {
	if err := requireAdmin(ctx); err != nil {
		return Deal{}, err
	}
	id, err := ParseID(id, "deal")
	if err != nil {
		return Deal{}, err
	}
	return s.repo.UpdateDeal(ctx, id, func(d *Deal) error { return d.Apply(ch, s.now()) })
}

// DeactivateDeal stops the deal from applying.
func (s *Service) DeactivateDeal(ctx context.Context, id string) error {
	inactive := false
	_, err := s.UpdateDeal(ctx, id, DealChanges{Active: &inactive})
	return err
}
