package domain

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// SeedBatch is how many demo products one insert carries.
const SeedBatch = 1000

// seedNamespace makes the demo deals' ids deterministic, so that seeding
// again inserts them once only.
var seedNamespace = uuid.MustParse("6f1d7c1e-3b7a-4c55-9a43-0d8f0a3c2b10")

type demoCategory struct {
	slug, name string
	adjectives []string
	nouns      []string
	basePrice  int64
}

func demoCategories() []demoCategory {
	return []demoCategory{
		{"coffee", "Coffee", []string{"Ethiopian", "Colombian", "Kenyan", "Brazilian", "Guatemalan", "Sumatran"},
			[]string{"Espresso Beans", "Filter Roast", "Cold Brew Blend", "Decaf Beans", "Single Origin"}, 1290},
		{"tea", "Tea", []string{"Darjeeling", "Assam", "Sencha", "Oolong", "Rooibos", "Earl Grey"},
			[]string{"Loose Leaf", "Tea Bags", "Gift Tin", "First Flush", "Chai Blend"}, 790},
		{"kitchen", "Kitchen", []string{"Ceramic", "Enamel", "Stainless", "Glass", "Walnut", "Copper"},
			[]string{"Mug", "Pour-Over Dripper", "French Press", "Grinder", "Kettle", "Tea Pot"}, 2490},
		{"books", "Books", []string{"The Art of", "A Field Guide to", "Notes on", "The Science of", "Mastering"},
			[]string{"Coffee Roasting", "Tea Ceremonies", "Home Baking", "Latte Art", "Fermentation"}, 1990},
	}
}

// Seed creates demo data without an authorization check: it is an operator
// command, never reachable from a request. Existing demo rows (same SKUs,
// slugs and deal ids) are left alone. progress gets the number of products
// handled after each batch.
func (s *Service) Seed(ctx context.Context, products int, progress func(done int)) error {
	now := s.now()
	demo := demoCategories()
	cats, err := s.seedCategories(ctx, demo, now)
	if err != nil {
		return err
	}
	for done := 0; done < products; {
		n := min(SeedBatch, products-done)
		batch := make([]Product, 0, n)
		for i := done; i < done+n; i++ {
			p, err := demoProduct(i, demo[i%len(demo)], cats[i%len(cats)], now)
			if err != nil {
				return err
			}
			batch = append(batch, p)
		}
		if err := s.repo.SeedProducts(ctx, batch, seededFacts); err != nil {
			return err
		}
		done += n
		if progress != nil {
			progress(done)
		}
	}
	if err := s.seedDeals(ctx, cats, products, now); err != nil {
		return err
	}
	s.dealsChanged()
	return nil
}

// seededFacts: a seeded product is created like any other, so subscribers
// learn of it the same way.
func seededFacts(p Product) []any { return []any{ProductCreated{Product: p}} }

func (s *Service) seedCategories(ctx context.Context, demo []demoCategory, now time.Time) ([]Category, error) {
	cs := make([]Category, 0, len(demo))
	for _, d := range demo {
		c, err := NewCategory(d.slug, d.name, now)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return s.repo.SeedCategories(ctx, cs)
}

func demoSKU(i int) string { return fmt.Sprintf("DEMO-%06d", i+1) }

func demoProduct(i int, d demoCategory, c Category, now time.Time) (Product, error) {
	k := i / 4 // the category cycles fastest; vary the words with the rest
	adj := d.adjectives[k%len(d.adjectives)]
	noun := d.nouns[(k/len(d.adjectives))%len(d.nouns)]
	name := fmt.Sprintf("%s %s No. %d", adj, noun, i+1)
	return NewProduct(ProductSpec{
		SKU:         demoSKU(i),
		Name:        name,
		Description: fmt.Sprintf("%s from our %s range. A demo product.", name, c.Name()),
		CategoryID:  c.ID(),
		Currency:    "EUR",
		PriceMinor:  d.basePrice + int64(k%40)*50,
	}, now)
}

func (s *Service) seedDeals(ctx context.Context, cats []Category, products int, now time.Time) error {
	specs := []DealSpec{{
		Name: "Kitchen week", Kind: DealFixed, Value: 300, Currency: "EUR",
		CategoryID: cats[2].ID(), StartsAt: now.Add(-time.Hour), EndsAt: now.AddDate(0, 1, 0),
	}}
	if products > 0 {
		first, err := s.repo.ProductBySKU(ctx, demoSKU(0), true)
		if err != nil {
			return err
		}
		specs = append(specs, DealSpec{
			Name: "Spring sale", Kind: DealPercent, Value: 20,
			ProductID: first.ID(), StartsAt: now.Add(-time.Hour), EndsAt: now.AddDate(0, 1, 0),
		})
	}
	deals := make([]Deal, 0, len(specs))
	for _, spec := range specs {
		d, err := NewDeal(spec, now)
		if err != nil {
			return err
		}
		d.id = uuid.NewSHA1(seedNamespace, []byte(spec.Name)).String()
		deals = append(deals, d)
	}
	return s.repo.SeedDeals(ctx, deals)
}
