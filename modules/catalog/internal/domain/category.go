package domain

import (
	"regexp"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// Category groups products.
type Category struct {
	id        string
	slug      string
	name      string
	active    bool
	createdAt time.Time
	updatedAt time.Time
}

// CategoryChanges is a partial update; nil means unchanged.
type CategoryChanges struct {
	Slug, Name *string
	Active     *bool
}

// CategoryRecord is a category as stored; RestoreCategory trusts it.
type CategoryRecord struct {
	ID, Slug, Name       string
	Active               bool
	CreatedAt, UpdatedAt time.Time
}

// NewCategory validates and returns an active category (KindInvalid naming
// slug or name).
func NewCategory(slug, name string, now time.Time) (Category, error) {
	var f errs.Fields
	c := Category{
		slug:      checkSlug(&f, slug),
		name:      checkText(&f, "name", name, 1, 100),
		active:    true,
		createdAt: normTime(now),
		updatedAt: normTime(now),
	}
	if err := f.Err(); err != nil {
		return Category{}, err
	}
	id, err := newID()
	if err != nil {
		return Category{}, err
	}
	c.id = id
	return c, nil
}

// Apply validates and applies changes; on error c is unchanged.
func (c *Category) Apply(ch CategoryChanges, now time.Time) error {
	var f errs.Fields
	next := *c
	if ch.Slug != nil {
		next.slug = checkSlug(&f, *ch.Slug)
	}
	if ch.Name != nil {
		next.name = checkText(&f, "name", *ch.Name, 1, 100)
	}
	if ch.Active != nil {
		next.active = *ch.Active
	}
	if err := f.Err(); err != nil {
		return err
	}
	next.updatedAt = normTime(now)
	*c = next
	return nil
}

func checkSlug(f *errs.Fields, slug string) string {
	if !slugPattern.MatchString(slug) {
		f.Add("slug", "slug", "must be 1 to 64 characters of a-z, 0-9 or '-'")
	}
	return slug
}

// RestoreCategory rebuilds a stored category without validation.
func RestoreCategory(r CategoryRecord) Category {
	return Category{id: r.ID, slug: r.Slug, name: r.Name, active: r.Active,
		createdAt: r.CreatedAt.UTC(), updatedAt: r.UpdatedAt.UTC()}
}

// ID is a UUIDv7.
func (c Category) ID() string { return c.id }

// Slug is unique.
func (c Category) Slug() string { return c.slug }

// Name is the display name.
func (c Category) Name() string { return c.name }

// Active categories and their products are visible to customers.
func (c Category) Active() bool { return c.active }

// CreatedAt is UTC.
func (c Category) CreatedAt() time.Time { return c.createdAt }

// UpdatedAt is UTC.
func (c Category) UpdatedAt() time.Time { return c.updatedAt }
