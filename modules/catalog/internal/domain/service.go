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
	repo         Repository
	clock        func() time.Time
	dealsChanged func()
}

// NewService returns a service on repo; clock is the clock (time.Now in
// production, fixed in tests). dealsChanged, if not nil, is called after a
// deal was created or changed, so that whoever announces deal starts and
// ends can look again at once instead of at its next planned time.
func NewService(repo Repository, clock func() time.Time, dealsChanged func()) *Service {
	if dealsChanged == nil {
		dealsChanged = func() {}
	}
	return &Service{repo: repo, clock: clock, dealsChanged: dealsChanged}
}

// now is the clock at the precision the catalog stores.
func (s *Service) now() time.Time { return normTime(s.clock()) }

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

// Deals lists deals in creation order. Admins see the active ones (past and
// future included), or all of them if they ask; everyone else sees only the
// deals that apply now to a product or category they can see.
func (s *Service) Deals(ctx context.Context, includeInactive bool) ([]Deal, error) {
	if isAdmin(ctx) {
		return s.repo.Deals(ctx, DealFilter{IncludeInactive: includeInactive})
	}
	return s.repo.Deals(ctx, DealFilter{RunningAt: s.now(), VisibleOnly: true})
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
	s.dealsChanged()
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
	d, err := s.repo.UpdateDeal(ctx, id, func(d *Deal) error { return d.Apply(ch, s.now()) })
	if err != nil {
		return Deal{}, err
	}
	s.dealsChanged()
	return d, nil
}

// DeactivateDeal stops the deal from applying.
func (s *Service) DeactivateDeal(ctx context.Context, id string) error {
	inactive := false
	_, err := s.UpdateDeal(ctx, id, DealChanges{Active: &inactive})
	return err
}
