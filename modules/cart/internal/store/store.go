// Package store keeps carts in PostgreSQL (the module's own schema), behind
// domain.Repository. A cart row exists exactly while the cart holds a line:
// the last line removed deletes the cart, and its lines cascade with it.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/shopmonolith/shop/modules/cart/internal/domain"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
)

// Store implements domain.Repository.
type Store struct{ db *database.DB }

var _ domain.Repository = (*Store)(nil)

// New returns a store on the module's own database access.
func New(db *database.DB) *Store { return &Store{db: db} }

// Cart implements domain.Repository in one statement, so that it sees one
// state of the cart: before or after a concurrent change, never half of it.
func (s *Store) Cart(ctx context.Context, userID string) (domain.Cart, error) {
	var rows []cartLineRow
	err := s.db.Gorm.WithContext(ctx).Raw(`SELECT c.currency AS cart_currency, c.updated_at AS cart_updated_at, `+
		lineColumns+` FROM carts c JOIN cart_items i ON i.user_id = c.user_id
		WHERE c.user_id = ? ORDER BY i.added_at, i.product_id`, userID).Scan(&rows).Error
	if err != nil {
		return domain.Cart{}, errs.Internal(fmt.Errorf("select cart: %w", err), "read cart")
	}
	var head cartRow
	lines := make([]lineRow, len(rows))
	for i, r := range rows {
		head.Currency, head.UpdatedAt = r.CartCurrency, r.CartUpdatedAt
		lines[i] = r.Line
	}
	return toCart(userID, head, lines), nil
}

// read loads the cart row (zero without one) and its lines in the order
// they were added (the product id breaks ties, so the order is stable);
// lock ends the cart row's select ("FOR UPDATE" or "").
func read(db *gorm.DB, userID, lock string) (cartRow, []lineRow, error) {
	var heads []cartRow
	err := db.Raw(`SELECT user_id::text AS user_id, currency, updated_at FROM carts WHERE user_id = ? `+lock, userID).
		Scan(&heads).Error
	if err != nil || len(heads) == 0 {
		return cartRow{}, nil, err
	}
	var lines []lineRow
	err = db.Raw(`SELECT `+lineColumns+` FROM cart_items i WHERE i.user_id = ? ORDER BY i.added_at, i.product_id`, userID).
		Scan(&lines).Error
	return heads[0], lines, err
}

// errCreatedMeanwhile reports that another transaction created the user's
// cart after this one found none: the change must be made again on it.
var errCreatedMeanwhile = errors.New("the cart was created concurrently")

// maxAttempts bounds the retries of a change that met a concurrent
// creation; one retry normally suffices, as the cart then exists and is
// locked by the next attempt.
const maxAttempts = 4

// Update implements domain.Repository. The cart row is locked FOR UPDATE,
// so concurrent changes of one cart run one after the other and none is
// lost; a cart that does not exist yet is guarded by its primary key
// instead (see errCreatedMeanwhile).
func (s *Store) Update(ctx context.Context, userID string, change func(c *domain.Cart) error) (domain.Cart, error) {
	for attempt := 1; ; attempt++ {
		c, err := s.update(ctx, userID, change)
		if errors.Is(err, errCreatedMeanwhile) {
			if attempt < maxAttempts {
				continue
			}
			return domain.Cart{}, errs.Internal(err, "change cart")
		}
		return c, err
	}
}

func (s *Store) update(ctx context.Context, userID string, change func(c *domain.Cart) error) (domain.Cart, error) {
	var out domain.Cart
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		head, before, err := read(tx.WithContext(ctx), userID, "FOR UPDATE")
		if err != nil {
			return errs.Internal(fmt.Errorf("lock cart: %w", err), "change cart")
		}
		c := toCart(userID, head, before)
		if err := change(&c); err != nil {
			return err
		}
		if err := write(ctx, tx, head, before, c); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// write stores the difference between the cart as it was read (head,
// before) and as the change left it.
func write(ctx context.Context, tx *gorm.DB, head cartRow, before []lineRow, c domain.Cart) error {
	db := tx.WithContext(ctx)
	exists := head.UserID != ""
	after := c.Lines()
	switch {
	case len(after) == 0 && !exists:
		return nil
	case len(after) == 0:
		if err := db.Exec(`DELETE FROM carts WHERE user_id = ?`, c.UserID()).Error; err != nil {
			return errs.Internal(fmt.Errorf("delete cart: %w", err), "change cart")
		}
		return nil
	case !exists:
		res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&cartRow{UserID: c.UserID(), Currency: c.Currency(), UpdatedAt: c.UpdatedAt()})
		if res.Error != nil {
			return errs.Internal(fmt.Errorf("insert cart: %w", res.Error), "change cart")
		}
		if res.RowsAffected == 0 {
			return errCreatedMeanwhile
		}
	case head.Currency != c.Currency() || !head.UpdatedAt.Equal(c.UpdatedAt()):
		if err := db.Exec(`UPDATE carts SET currency = ?, updated_at = ? WHERE user_id = ?`,
			c.Currency(), c.UpdatedAt(), c.UserID()).Error; err != nil {
			return errs.Internal(fmt.Errorf("update cart: %w", err), "change cart")
		}
	}
	return writeLines(db, c.UserID(), before, after)
}

func writeLines(db *gorm.DB, userID string, before []lineRow, after []domain.Line) error {
	old := make(map[string]lineRow, len(before))
	for _, r := range before {
		old[r.ProductID] = r
	}
	var upserts []lineRow
	for _, l := range after {
		r := toLineRow(userID, l)
		if prev, ok := old[r.ProductID]; !ok || !prev.same(r) {
			upserts = append(upserts, r)
		}
		delete(old, r.ProductID)
	}
	if len(old) > 0 {
		gone := make([]string, 0, len(old))
		for id := range old {
			gone = append(gone, id)
		}
		if err := db.Exec(`DELETE FROM cart_items WHERE user_id = ? AND product_id IN ?`, userID, gone).Error; err != nil {
			return errs.Internal(fmt.Errorf("delete lines: %w", err), "change cart")
		}
	}
	if len(upserts) > 0 {
		err := db.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "user_id"}, {Name: "product_id"}},
			UpdateAll: true,
		}).Create(&upserts).Error
		if err != nil {
			return errs.Internal(fmt.Errorf("upsert lines: %w", err), "change cart")
		}
	}
	return nil
}

// Remember implements domain.Repository in one statement, whatever the
// number of lines. Quantities are left alone, so a read racing a change
// never undoes it.
func (s *Store) Remember(ctx context.Context, userID string, lines []domain.Line) error {
	if len(lines) == 0 {
		return nil
	}
	n := len(lines)
	ids, skus, names, currencies := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	prices, available, seen := make([]int64, n), make([]int32, n), make([]time.Time, n)
	for i, l := range lines {
		ids[i], skus[i], names[i] = l.ProductID(), l.SKU(), l.Name()
		prices[i], currencies[i] = l.UnitPrice().Amount(), l.UnitPrice().Currency()
		available[i], seen[i] = int32(l.Available()), l.RefreshedAt()
	}
	_, err := s.db.Pool.Exec(ctx, `UPDATE cart_items AS i
		SET sku = u.sku, name = u.name, unit_price_minor = u.price, currency = u.currency,
		    available = u.available, refreshed_at = u.seen
		FROM unnest($2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::int[], $8::timestamptz[])
		     AS u(product_id, sku, name, price, currency, available, seen)
		WHERE i.user_id = $1 AND i.product_id = u.product_id`,
		userID, ids, skus, names, prices, currencies, available, seen)
	if err != nil {
		return errs.Internal(fmt.Errorf("remember lines: %w", err), "remember cart values")
	}
	return nil
}

// Clear implements domain.Repository; the lines cascade with the cart row.
func (s *Store) Clear(ctx context.Context, userID string) error {
	if _, err := s.db.Pool.Exec(ctx, `DELETE FROM carts WHERE user_id = $1`, userID); err != nil {
		return errs.Internal(fmt.Errorf("delete cart: %w", err), "clear cart")
	}
	return nil
}
