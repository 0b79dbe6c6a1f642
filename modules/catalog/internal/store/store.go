package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
)

// Publish records facts as outgoing events in tx, the transaction that made
// them true, so they are published exactly when it commits.
type Publish func(ctx context.Context, tx *gorm.DB, facts ...any) error

// Store implements domain.Repository on the catalog's schema.
type Store struct {
	db      *database.DB
	publish Publish
}

var _ domain.Repository = (*Store)(nil)

// New returns a store on the module's own database access that publishes
// facts through publish.
func New(db *database.DB, publish Publish) *Store { return &Store{db: db, publish: publish} }

// visible hides inactive products and products of inactive categories.
const visible = `products.active AND (products.category_id IS NULL OR EXISTS (
	SELECT 1 FROM categories c WHERE c.id = products.category_id AND c.active))`

// Constraint names from migrations/catalog, mapped to the field they guard.
var (
	uniqueFields = map[string]errs.FieldError{
		"products_sku_key":    errs.Field("sku", "unique", "is taken by another product"),
		"categories_slug_key": errs.Field("slug", "unique", "is taken by another category"),
	}
	foreignKeyFields = map[string]errs.FieldError{
		"products_category_id_fkey": errs.Field("category_id", "exists", "names no category"),
		"deals_category_id_fkey":    errs.Field("category_id", "exists", "names no category"),
		"deals_product_id_fkey":     errs.Field("product_id", "exists", "names no product"),
	}
)

// writeError gives a failed write its kind: the database constraints, not a
// racy read before the write, decide what is a conflict.
func writeError(err error, op string) error {
	if c, ok := database.IsUniqueViolation(err); ok {
		e := &errs.Error{Kind: errs.KindConflict, Message: "it exists already", Err: err}
		if f, known := uniqueFields[c]; known {
			e.Message = fmt.Sprintf("%s %s", f.Field, f.Message)
			e.Fields = []errs.FieldError{f}
		}
		return e
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" {
		if f, known := foreignKeyFields[pe.ConstraintName]; known {
			return &errs.Error{Kind: errs.KindInvalid, Message: "the request has invalid fields",
				Fields: []errs.FieldError{f}, Err: err}
		}
	}
	return errs.Internal(fmt.Errorf("%s: %w", op, err), op)
}

func readError(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return errs.E(errs.KindNotFound, "%s not found", what)
	}
	return errs.Internal(fmt.Errorf("read %s: %w", what, err), "read "+what)
}

// updateLocked reads the row under a row lock, lets fn change the domain
// value and writes it back, all in one transaction, so that concurrent
// updates of one object serialise instead of losing changes.
// The facts fn returns are published in the same transaction.
func updateLocked[R any, T any](ctx context.Context, s *Store, id, what string,
	toT func(R) T, toR func(T) R, fn func(*T) ([]any, error),
) (T, error) {
	var out T
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		var row R
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&row).Error
		if err != nil {
			return readError(err, what)
		}
		v := toT(row)
		facts, err := fn(&v)
		if err != nil {
			return err
		}
		next := toR(v)
		if err := tx.Save(&next).Error; err != nil {
			return writeError(err, "update "+what)
		}
		if err := s.publish(ctx, tx, facts...); err != nil {
			return errs.Internal(err, "publish "+what+" events")
		}
		out = v
		return nil
	})
	return out, err
}

// noFacts adapts an update that has nothing to announce.
func noFacts[T any](fn func(*T) error) func(*T) ([]any, error) {
	return func(v *T) ([]any, error) { return nil, fn(v) }
}

// CreateProduct implements domain.Repository.
func (s *Store) CreateProduct(ctx context.Context, p domain.Product, facts ...any) error {
	return s.db.InTx(ctx, func(tx *gorm.DB) error {
		row := toProductRow(p)
		if err := tx.Create(&row).Error; err != nil {
			return writeError(err, "create product")
		}
		if err := s.publish(ctx, tx, facts...); err != nil {
			return errs.Internal(err, "publish product events")
		}
		return nil
	})
}

// UpdateProduct implements domain.Repository.
func (s *Store) UpdateProduct(ctx context.Context, id string, fn func(*domain.Product) ([]any, error)) (domain.Product, error) {
	return updateLocked(ctx, s, id, "product", toProduct, toProductRow, fn)
}

// Product implements domain.Repository.
func (s *Store) Product(ctx context.Context, id string, includeInactive bool) (domain.Product, error) {
	return s.productWhere(ctx, productByID, id, includeInactive)
}

// ProductBySKU implements domain.Repository.
func (s *Store) ProductBySKU(ctx context.Context, sku string, includeInactive bool) (domain.Product, error) {
	return s.productWhere(ctx, productBySKU, sku, includeInactive)
}

// productColumns lists productRow's columns in field order, for the hot read
// paths that go through pgx directly (see productWhere).
const productColumns = `products.id, products.sku, products.name, products.description, products.price_minor,
	products.currency, products.category_id, products.active, products.created_at, products.updated_at`

// productQuery is the SQL of productWhere for one condition, of any
// product and of a visible one, put together once rather than on every read.
type productQuery struct{ any, visible string }

func productWhereQuery(cond string) productQuery {
	sql := "SELECT " + productColumns + " FROM products WHERE " + cond
	return productQuery{any: sql + " LIMIT 1", visible: sql + " AND " + visible + " LIMIT 1"}
}

var (
	productByID  = productWhereQuery("products.id = $1")
	productBySKU = productWhereQuery("products.sku = $1")
)

// productWhere is the storefront's hottest query. It runs on the module's pgx
// pool directly: gorm's statement building and reflection-based scanning cost
// more than the query itself here, and the SQL is fixed anyway.
func (s *Store) productWhere(ctx context.Context, q productQuery, arg any, includeInactive bool) (domain.Product, error) {
	sql := q.visible
	if includeInactive {
		sql = q.any
	}
	// Scanned field by field: RowToStructByPos would reflect over the
	// struct on every read.
	var row productRow
	err := s.db.Pool.QueryRow(ctx, sql, arg).Scan(&row.ID, &row.SKU, &row.Name, &row.Description,
		&row.PriceMinor, &row.Currency, &row.CategoryID, &row.Active, &row.CreatedAt, &row.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Product{}, errs.E(errs.KindNotFound, "product not found")
	}
	if err != nil {
		return domain.Product{}, readError(err, "product")
	}
	return toProduct(row), nil
}

// Products implements domain.Repository: one query for the whole batch, on
// the pgx pool like productWhere, since it is on the path of every cart read.
func (s *Store) Products(ctx context.Context, ids []string, includeInactive bool) ([]domain.Product, error) {
	if len(ids) == 0 {
		return nil, nil // "IN ()" is not SQL
	}
	var b strings.Builder
	b.WriteString("SELECT " + productColumns + " FROM products WHERE products.id IN (")
	// An IN list, not = ANY($1), for the reason given in CurrentDeals.
	placeholders(&b, 1, len(ids))
	args := appendArgs(make([]any, 0, len(ids)), ids)
	b.WriteString(")")
	if !includeInactive {
		b.WriteString(" AND " + visible)
	}
	rows, err := s.db.Pool.Query(ctx, b.String(), args...)
	if err != nil {
		return nil, readError(err, "products")
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[productRow])
	if err != nil {
		return nil, readError(err, "products")
	}
	return domain.Map(found, toProduct), nil
}

// ListProducts implements domain.Repository with keyset pagination on id.
//
// A listing walks the products in id order (products_pkey, or
// products_category_id_idx on (category_id, id) for one category) and stops
// after a page. A search cannot simply add its text match to that walk: the
// planner then still walks in id order and filters every row, which reads the
// whole catalog for a word few or no products contain (its estimate for a
// prefix match is a fixed guess, so it cannot tell). Nor can it always go
// through the text index (products_search_idx), which finds every match
// before sorting them, a quarter of the catalog for a common word. So a
// search takes whichever of the two is bounded for its term:
//
//  1. the next searchProbe pages of the listing, walked in id order, and the
//     matches among them; when there are some, but not a page, the next
//     searchWindow pages. Walked lazily, they stop at a full page: a common
//     word fills it after a few rows, and the walk costs at most the window,
//     fixed by the page size (on a large catalog that is a heap page read
//     per row of a category, whose products are spread over the table);
//  2. when the probe finds nothing, or the window not a page, every match
//     from the text index (through product_matches, migrations/catalog/0003:
//     neither a walk in id order nor a scan of every row), sorted for the
//     page: a rare word, at the cost of its few matches.
//
// Only a word on fewer than about one product in searchWindow, yet on many
// products in all, costs more than both: its matches from the cursor on.
func (s *Store) ListProducts(ctx context.Context, f domain.ProductFilter) ([]domain.Product, error) {
	var rows []productRow
	var err error
	if len(f.Terms) == 0 {
		err = s.listing(ctx, f).Order("products.id").Limit(f.Limit).Find(&rows).Error
	} else {
		rows, err = s.search(ctx, f)
	}
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("list products: %w", err), "list products")
	}
	return domain.Map(rows, toProduct), nil
}

// search is ListProducts for a filter with terms: the walks of the probe
// and of the window, then, short of a page, the text index.
func (s *Store) search(ctx context.Context, f domain.ProductFilter) ([]productRow, error) {
	query := prefixQuery(f.Terms)
	rows, err := s.walk(ctx, f, query, searchProbe)
	if err == nil && len(rows) > 0 && len(rows) < f.Limit {
		rows, err = s.walk(ctx, f, query, searchWindow)
	}
	if err != nil || len(rows) == f.Limit {
		return rows, err
	}
	rows = nil
	err = s.listing(ctx, f).Table("product_matches(?) AS products", query).Order("products.id").Limit(f.Limit).Find(&rows).Error
	return rows, err
}

// walk returns the products among the next pages of the listing that match
// query, up to a page.
func (s *Store) walk(ctx context.Context, f domain.ProductFilter, query string, pages int) ([]productRow, error) {
	var rows []productRow
	window := s.listing(ctx, f).Select("products.*").Order("products.id").Limit(pages * f.Limit)
	err := s.db.Gorm.WithContext(ctx).Table("(?) AS products", window).Where("products.search @@ to_tsquery('simple', ?)", query).
		Order("products.id").Limit(f.Limit).Find(&rows).Error
	return rows, err
}

// How many pages of the listing a search walks in id order before it asks
// the text index instead (see ListProducts): a probe of 2, where a word on
// no product stops, then a window of 50, which a word on at least one
// product in 50 fills.
const (
	searchProbe  = 2
	searchWindow = 50
)

// listing is the query of a page of products without the text match: the
// visible ones (unless f includes inactive ones), of f's category, after
// f's cursor.
func (s *Store) listing(ctx context.Context, f domain.ProductFilter) *gorm.DB {
	q := s.db.Gorm.WithContext(ctx).Model(&productRow{})
	if !f.IncludeInactive {
		q = q.Where(visible)
	}
	if f.CategoryID != "" {
		q = q.Where("products.category_id = ?", f.CategoryID)
	}
	if f.After != "" {
		q = q.Where("products.id > ?", f.After)
	}
	return q
}

// prefixQuery ANDs the terms, each matching as a word prefix ("mu" finds
// "mug"). The domain reduced terms to letters and digits, so quoting them is
// enough to keep tsquery syntax out. The text parser reads a number after a
// hyphen as signed ("DEMO-000001" is 'demo' and '-000001'): a term of digits
// also matches the number with its sign, so a SKU and its number are found.
func prefixQuery(terms []string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = "'" + t + "':*"
		if strings.Trim(t, "0123456789") == "" {
			parts[i] = "(" + parts[i] + " | '-" + t + "':*)"
		}
	}
	return strings.Join(parts, " & ")
}

// dealColumns lists dealRow's columns in field order.
const dealColumns = `id, name, kind, value, currency, product_id, category_id, starts_at, ends_at, active, created_at, updated_at`

// CurrentDeals implements domain.Repository: one query for a whole page. Like
// productWhere it is on every storefront read, so it uses pgx directly.
func (s *Store) CurrentDeals(ctx context.Context, productIDs, categoryIDs []string, now time.Time) ([]domain.Deal, error) {
	// IN lists of single parameters, not = ANY($n): pgx encodes a string
	// slice as uuid[] through its generic array path, which costs more than
	// the query on this hot path.
	args := make([]any, 0, 1+len(productIDs)+len(categoryIDs))
	args = append(args, now)
	args = appendArgs(args, productIDs)
	args = appendArgs(args, categoryIDs)
	rows, err := s.db.Pool.Query(ctx, currentDealsQuery(len(productIDs), len(categoryIDs)), args...)
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("current deals: %w", err), "load deals")
	}
	found, err := pgx.CollectRows(rows, scanDeal)
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("current deals: %w", err), "load deals")
	}
	return domain.Map(found, toDeal), nil
}

// scanDeal scans a row of dealColumns field by field, like productWhere:
// RowToStructByPos would reflect over the struct on every row.
func scanDeal(row pgx.CollectableRow) (dealRow, error) {
	var d dealRow
	err := row.Scan(&d.ID, &d.Name, &d.Kind, &d.Value, &d.Currency, &d.ProductID, &d.CategoryID,
		&d.StartsAt, &d.EndsAt, &d.Active, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// currentDealsQuery is the SQL of CurrentDeals for products product ids and
// categories category ids: put together once for a single product's read,
// the commonest, rather than on every one.
func currentDealsQuery(products, categories int) string {
	if products == 1 && categories <= 1 {
		return oneProductDeals[categories]
	}
	return buildCurrentDealsQuery(products, categories)
}

func buildCurrentDealsQuery(products, categories int) string {
	var b strings.Builder
	b.WriteString("SELECT " + dealColumns + " FROM deals WHERE active AND starts_at <= $1 AND ends_at > $1 AND (product_id IN (")
	placeholders(&b, 2, products)
	if categories > 0 {
		b.WriteString(") OR category_id IN (")
		placeholders(&b, 2+products, categories)
	}
	b.WriteString(")) ORDER BY id")
	return b.String()
}

// oneProductDeals are the queries of CurrentDeals for one product without
// a category and with one.
var oneProductDeals = [2]string{buildCurrentDealsQuery(1, 0), buildCurrentDealsQuery(1, 1)}

// placeholders writes "$from, $from+1, …", n of them.
func placeholders(b *strings.Builder, from, n int) {
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
}

// appendArgs appends values to args.
func appendArgs(args []any, values []string) []any {
	for _, v := range values {
		args = append(args, v)
	}
	return args
}
