package domain

import (
	"context"
	"encoding/base64"
	"fmt"
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

// MaxBatch is the most ids one Products call takes: a page's worth, so
// that one call stays one cheap query.
const MaxBatch = 100

// Products returns the products among ids that Product would return, in the
// order of ids, each once (at its first mention) and priced with one deals
// query for all. Unknown, malformed and hidden ids are simply absent: a
// batch answers for the ids it can, so one stale id does not sink the
// others. KindInvalid names ids when there are none or more than MaxBatch.
func (s *Service) Products(ctx context.Context, ids []string) ([]PricedProduct, error) {
	if len(ids) == 0 || len(ids) > MaxBatch {
		var f errs.Fields
		f.Add("ids", "range", fmt.Sprintf("must name 1 to %d products", MaxBatch))
		return nil, f.Err()
	}
	wanted := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id, err := ParseID(id, "product"); err == nil && !seen[id] {
			seen[id] = true
			wanted = append(wanted, id)
		}
	}
	if len(wanted) == 0 {
		return []PricedProduct{}, nil
	}
	found, err := s.repo.Products(ctx, wanted, isAdmin(ctx))
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Product, len(found))
	for _, p := range found {
		byID[p.ID()] = p
	}
	ordered := make([]Product, 0, len(found))
	for _, id := range wanted {
		if p, ok := byID[id]; ok {
			ordered = append(ordered, p)
		}
	}
	return s.price(ctx, ordered)
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
	var one [1]PricedProduct // on the stack: a single product's read allocates no slice for it
	out, err := s.priceInto(ctx, one[:0], []Product{p})
	if err != nil {
		return PricedProduct{}, err
	}
	return out[0], nil
}

// price loads the current deals of all products in one query.
func (s *Service) price(ctx context.Context, ps []Product) ([]PricedProduct, error) {
	return s.priceInto(ctx, make([]PricedProduct, 0, len(ps)), ps)
}

// priceInto is price, appending to out.
func (s *Service) priceInto(ctx context.Context, out []PricedProduct, ps []Product) ([]PricedProduct, error) {
	if len(ps) == 0 {
		return out, nil
	}
	now := s.now()
	// The product ids, then the category ids: one array for both.
	ids := make([]string, len(ps), 2*len(ps))
	productIDs, categoryIDs := ids[:len(ps):len(ps)], ids[len(ps):len(ps)]
	seen := map[string]bool{}
	for i, p := range ps {
		productIDs[i] = p.ID()
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
