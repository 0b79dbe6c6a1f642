package domain

import (
	"context"
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/errs"
)

// Listing limits.
const (
	DefaultLimit   = 20
	MaxLimit       = 100
	maxSearchChars = 200
	maxSearchTerms = 8
)

// ProductQuery asks for one page of products.
type ProductQuery struct {
	CategoryID, Search, After string
	Limit                     int // 0: DefaultLimit
	IncludeInactive           bool
}

// ProductPage is one page; NextCursor is empty on the last page.
type ProductPage struct {
	Items      []PricedProduct
	NextCursor string
}

// ListProducts returns a page in creation order. KindInvalid names the
// query parameters limit, after, category or q.
func (s *Service) ListProducts(ctx context.Context, q ProductQuery) (ProductPage, error) {
	f, err := parseQuery(q)
	if err != nil {
		return ProductPage{}, err
	}
	f.IncludeInactive = q.IncludeInactive && isAdmin(ctx)
	limit := f.Limit
	f.Limit++ // one more row tells whether a next page exists
	ps, err := s.repo.ListProducts(ctx, f)
	if err != nil {
		return ProductPage{}, err
	}
	var page ProductPage
	if len(ps) > limit {
		ps = ps[:limit]
		page.NextCursor = EncodeCursor(ps[limit-1].ID())
	}
	page.Items, err = s.price(ctx, ps)
	return page, err
}

func parseQuery(q ProductQuery) (ProductFilter, error) {
	var fields errs.Fields
	f := ProductFilter{Limit: q.Limit}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		fields.Add("limit", "range", "must be between 1 and 100")
	}
	if q.After != "" {
		id, ok := DecodeCursor(q.After)
		if !ok {
			fields.Add("after", "cursor", "is not a cursor returned by this API")
		}
		f.After = id
	}
	f.CategoryID = parseRef(&fields, "category", q.CategoryID)
	if utf8.RuneCountInString(q.Search) > maxSearchChars {
		fields.Add("q", "max", "must be at most 200 characters")
	}
	f.Terms = searchTerms(q.Search)
	return f, fields.Err()
}

// searchTerms splits a search into words of letters and digits: nothing a
// caller types can then change the meaning of the full-text query.
func searchTerms(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) > maxSearchTerms {
		words = words[:maxSearchTerms]
	}
	return words
}

// EncodeCursor makes the opaque cursor that follows id.
func EncodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// DecodeCursor returns the id inside a cursor.
func DecodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	u, err := uuid.Parse(string(b))
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// Product returns a visible product with its effective price; KindNotFound.
func (s *Service) Product(ctx context.Context, id string) (PricedProduct, error) {
	id, err := ParseID(id, "product")
	if err != nil {
		return PricedProduct{}, err
	}
	p, err := s.repo.Product(ctx, id, isAdmin(ctx))
	if err != nil {
		return PricedProduct{}, err
	}
	return s.priceOne(ctx, p)
}

// ProductBySKU finds a visible product by SKU, in any case; KindNotFound.
func (s *Service) ProductBySKU(ctx context.Context, sku string) (PricedProduct, error) {
	sku = NormalizeSKU(sku)
	if !skuPattern.MatchString(sku) {
		return PricedProduct{}, errs.E(errs.KindNotFound, "product not found")
	}
	p, err := s.repo.ProductBySKU(ctx, sku, isAdmin(ctx))
	if err != nil {
		return PricedProduct{}, err
	}
	return s.priceOne(ctx, p)
}

// CreateProduct needs the admin role; KindInvalid, KindConflict (sku).
func (s *Service) CreateProduct(ctx context.Context, spec ProductSpec) (PricedProduct, error) {
	if err := requireAdmin(ctx); err != nil {
		return PricedProduct{}, err
	}
	p, err := NewProduct(spec, s.now())
	if err != nil {
		return PricedProduct{}, err
	}
	if err := s.repo.CreateProduct(ctx, p, ProductCreated{Product: p}); err != nil {
		return PricedProduct{}, err
	}
	return s.priceOne(ctx, p)
}

// UpdateProduct needs the admin role; KindNotFound, KindInvalid.
func (s *Service) UpdateProduct(ctx context.Context, id string, ch ProductChanges) (PricedProduct, error) {
	if err := requireAdmin(ctx); err != nil {
		return PricedProduct{}, err
	}
	id, err := ParseID(id, "product")
	if err != nil {
		return PricedProduct{}, err
	}
	p, err := s.repo.UpdateProduct(ctx, id, func(p *Product) ([]any, error) {
		before := *p
		if err := p.Apply(ch, s.now()); err != nil {
			return nil, err
		}
		return productChangeFacts(before, *p), nil
	})
	if err != nil {
		return PricedProduct{}, err
	}
	return s.priceOne(ctx, p)
}

// DeactivateProduct hides the product from customers.
func (s *Service) DeactivateProduct(ctx context.Context, id string) error {
	inactive := false
	_, err := s.UpdateProduct(ctx, id, ProductChanges{Active: &inactive})
	return err
}

func (s *Service) priceOne(ctx context.Context, p Product) (PricedProduct, error) {
	out, err := s.price(ctx, []Product{p})
	if err != nil {
		return PricedProduct{}, err
	}
	return out[0], nil
}

// price loads the current deals of all products in one query.
func (s *Service) price(ctx context.Context, ps []Product) ([]PricedProduct, error) {
	out := make([]PricedProduct, 0, len(ps))
	if len(ps) == 0 {
		return out, nil
	}
	now := s.now()
	productIDs := make([]string, 0, len(ps))
	var categoryIDs []string
	seen := map[string]bool{}
	for _, p := range ps {
		productIDs = append(productIDs, p.ID())
		if c := p.CategoryID(); c != "" && !seen[c] {
			seen[c] = true
			categoryIDs = append(categoryIDs, c)
		}
	}
	deals, err := s.repo.CurrentDeals(ctx, productIDs, categoryIDs, now)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		out = append(out, Price(p, deals, now))
	}
	return out, nil
}
