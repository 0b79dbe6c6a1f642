// Package store keeps orders in PostgreSQL (the module's own schema), behind
// domain.Repository.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/shopmonolith/shop/modules/orders/internal/domain"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/events"
)

// Publisher records facts in the outbox of tx; the module root turns facts
// into public events.
type Publisher func(ctx context.Context, tx *gorm.DB, facts ...domain.Fact) error

// Store implements domain.Repository on a connection or a transaction.
type Store struct {
	db      *gorm.DB
	module  *database.DB // nil when the store works inside a transaction
	publish Publisher
}

var _ domain.Repository = (*Store)(nil)

// New returns a store on the module's database.
func New(db *database.DB, publish Publisher) *Store {
	return &Store{db: db.Gorm, module: db, publish: publish}
}

// WithTx returns the store working inside tx.
func (s *Store) WithTx(tx *gorm.DB) *Store { return &Store{db: tx, publish: s.publish} }

// snapshot runs read, several statements, in one snapshot: a read-only
// transaction of its own (database.ReadSnapshot). A store working inside a
// transaction reads in that one instead, which sees its own writes (the
// service reads no page of orders inside a transaction).
func (s *Store) snapshot(ctx context.Context, read func(db *gorm.DB) error) error {
	if s.module == nil {
		return read(s.db.WithContext(ctx))
	}
	return s.module.ReadSnapshot(ctx, read)
}

// Transactor opens transactions on db for the service.
func (s *Store) Transactor(db *database.DB) domain.Transactor {
	return func(ctx context.Context, fn func(domain.Repository) error) error {
		return db.InTx(ctx, func(tx *gorm.DB) error { return fn(s.WithTx(tx)) })
	}
}

type orderRow struct {
	ID              string `gorm:"primaryKey"`
	UserID          string
	Email           string
	Status          string
	Reason          string
	TotalMinor      int64
	Currency        string
	CardToken       string
	CardLast4       string
	StockCommitted  bool
	PaymentCaptured bool
	ConfirmedAt     *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (orderRow) TableName() string { return "orders" }

// itemRow and stepRow are also read as JSON objects (see orderSelect).
type itemRow struct {
	OrderID        string `gorm:"primaryKey"`
	Line           int    `gorm:"primaryKey"`
	ProductID      string `json:"product_id"`
	SKU            string `gorm:"column:sku" json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceMinor int64  `json:"unit_price_minor"`
}

func (itemRow) TableName() string { return "order_items" }

type stepRow struct {
	OrderID string    `gorm:"primaryKey"`
	Seq     int       `gorm:"primaryKey"`
	Step    string    `json:"step"`
	Detail  string    `json:"detail"`
	At      time.Time `json:"at"`
}

func (stepRow) TableName() string { return "order_timeline" }

// fullOrderRow is an order row with its items and timeline as JSON arrays
// (orderSelect).
type fullOrderRow struct {
	Order    orderRow `gorm:"embedded"`
	Items    []byte   `gorm:"column:items"`
	Timeline []byte   `gorm:"column:timeline"`
}

func (r fullOrderRow) order() (*domain.Order, error) {
	var items []itemRow
	if err := json.Unmarshal(r.Items, &items); err != nil {
		return nil, fmt.Errorf("order %s: items: %w", r.Order.ID, err)
	}
	var steps []stepRow
	if err := json.Unmarshal(r.Timeline, &steps); err != nil {
		return nil, fmt.Errorf("order %s: timeline: %w", r.Order.ID, err)
	}
	return toOrder(r.Order, items, steps), nil
}

type keyRow struct {
	UserID      string `gorm:"primaryKey"`
	Key         string `gorm:"primaryKey"`
	RequestHash string
	OrderID     string
	CreatedAt   time.Time
}

func (keyRow) TableName() string { return "idempotency_keys" }

func toOrderRow(o *domain.Order) orderRow {
	r := orderRow{
		ID: o.ID(), UserID: o.UserID(), Email: o.Email(), Status: o.Status(), Reason: o.Reason(),
		TotalMinor: o.Total(), Currency: o.Currency(), CardToken: o.CardToken(), CardLast4: o.CardLast4(),
		StockCommitted: o.StockIsCommitted(), PaymentCaptured: o.PaymentIsCaptured(),
		CreatedAt: o.CreatedAt(), UpdatedAt: o.UpdatedAt(),
	}
	if t := o.ConfirmedAt(); !t.IsZero() {
		r.ConfirmedAt = &t
	}
	return r
}

func toOrder(r orderRow, items []itemRow, steps []stepRow) *domain.Order {
	its := make([]domain.Item, len(items))
	for i, it := range items {
		its[i] = domain.Item{ProductID: it.ProductID, SKU: it.SKU, Name: it.Name, Quantity: it.Quantity, UnitPrice: it.UnitPriceMinor}
	}
	tl := make([]domain.Step, len(steps))
	for i, st := range steps {
		tl[i] = domain.Step{Step: st.Step, Detail: st.Detail, At: st.At.UTC()}
	}
	var confirmed time.Time
	if r.ConfirmedAt != nil {
		confirmed = r.ConfirmedAt.UTC()
	}
	return domain.Restore(r.ID, r.UserID, r.Email, r.Status, r.Reason, its, r.TotalMinor, r.Currency, r.CardToken, r.CardLast4,
		r.StockCommitted, r.PaymentCaptured, confirmed, tl, r.CreatedAt.UTC(), r.UpdatedAt.UTC())
}

// Idempotent implements domain.Repository.
func (s *Store) Idempotent(ctx context.Context, userID, key string) (string, string, bool, error) {
	var row keyRow
	err := s.db.WithContext(ctx).Where("user_id = ? AND key = ?", userID, key).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return "", "", false, nil
	case err != nil:
		return "", "", false, errs.Internal(fmt.Errorf("select idempotency key: %w", err), "read order")
	}
	return row.OrderID, row.RequestHash, true, nil
}

// StartCheckout implements domain.Repository: the customer's row is taken
// when there is none, when no checkout holds it, when it is the same key's
// (a retry running beside the first: one more holder), or when it was last
// started stale ago (by a process that stopped before it ended).
func (s *Store) StartCheckout(ctx context.Context, userID, key string, stale time.Duration) (bool, error) {
	res := s.db.WithContext(ctx).Exec(`INSERT INTO checkouts AS c (user_id, key, holders, started_at) VALUES (?, ?, 1, now())
		ON CONFLICT (user_id) DO UPDATE SET key = EXCLUDED.key, started_at = now(),
			holders = CASE WHEN c.key = EXCLUDED.key AND c.holders > 0 AND c.started_at >= now() - make_interval(secs => ?)
				THEN c.holders + 1 ELSE 1 END
		WHERE c.key = EXCLUDED.key OR c.holders <= 0 OR c.started_at < now() - make_interval(secs => ?)`,
		userID, key, stale.Seconds(), stale.Seconds())
	if res.Error != nil {
		return false, errs.Internal(fmt.Errorf("start checkout: %w", res.Error), "checkout")
	}
	return res.RowsAffected == 1, nil
}

// EndCheckout implements domain.Repository: one holder fewer (a row
// taken over by another key is not its any more).
func (s *Store) EndCheckout(ctx context.Context, userID, key string) error {
	err := s.db.WithContext(ctx).Exec(`UPDATE checkouts SET holders = holders - 1 WHERE user_id = ? AND key = ? AND holders > 0`, userID, key).Error
	if err != nil {
		return errs.Internal(fmt.Errorf("end checkout: %w", err), "checkout")
	}
	return nil
}

// Insert implements domain.Repository. The order goes in first so that the
// key's foreign key holds; when the key is taken, the caller rolls back.
func (s *Store) Insert(ctx context.Context, o *domain.Order, key, hash string) (bool, error) {
	db := s.db.WithContext(ctx)
	row := toOrderRow(o)
	if err := db.Create(&row).Error; err != nil {
		return false, errs.Internal(fmt.Errorf("insert order: %w", err), "store order")
	}
	items := make([]itemRow, len(o.Items()))
	for i, it := range o.Items() {
		items[i] = itemRow{OrderID: o.ID(), Line: i + 1, ProductID: it.ProductID, SKU: it.SKU, Name: it.Name, Quantity: it.Quantity, UnitPriceMinor: it.UnitPrice}
	}
	if err := db.Create(&items).Error; err != nil {
		return false, errs.Internal(fmt.Errorf("insert order items: %w", err), "store order")
	}
	if err := s.saveSteps(ctx, o); err != nil {
		return false, err
	}
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&keyRow{UserID: o.UserID(), Key: key, RequestHash: hash, OrderID: o.ID(), CreatedAt: o.CreatedAt()})
	if res.Error != nil {
		return false, errs.Internal(fmt.Errorf("insert idempotency key: %w", res.Error), "store order")
	}
	return res.RowsAffected == 1, nil
}

// Order implements domain.Repository in one statement (orderSelect), so
// from one snapshot. A locking read takes the lock in a statement of its
// own first: under READ COMMITTED a statement that waited for the lock sees
// the row's new version, but its subqueries (the items and the timeline)
// would still see the snapshot from before the wait. Every change of an
// order holds that lock, so the read after it sees one state.
func (s *Store) Order(ctx context.Context, id string, forUpdate bool) (*domain.Order, error) {
	db := s.db.WithContext(ctx)
	if forUpdate {
		var ids []string
		if err := db.Raw(`SELECT id FROM orders WHERE id = ? FOR UPDATE`, id).Scan(&ids).Error; err != nil {
			return nil, errs.Internal(fmt.Errorf("lock order: %w", err), "read order")
		}
		if len(ids) == 0 {
			return nil, errs.E(errs.KindNotFound, "order not found")
		}
	}
	var rows []fullOrderRow
	if err := db.Raw(`SELECT `+orderSelect+` FROM orders o WHERE o.id = ?`, id).Scan(&rows).Error; err != nil {
		return nil, errs.Internal(fmt.Errorf("select order: %w", err), "read order")
	}
	if len(rows) == 0 {
		return nil, errs.E(errs.KindNotFound, "order not found")
	}
	o, err := rows[0].order()
	if err != nil {
		return nil, errs.Internal(err, "read order")
	}
	return o, nil
}

// orderSelect reads an order with its items and timeline, aggregated as
// JSON, in one statement: one snapshot, and one round trip instead of
// three. It is the hottest read of the module (clients poll an order after
// checkout).
const orderSelect = `o.id, o.user_id, o.email, o.status, o.reason, o.total_minor, o.currency, o.card_token,
	o.card_last4, o.stock_committed, o.payment_captured, o.confirmed_at, o.created_at, o.updated_at,
	COALESCE((SELECT json_agg(json_build_object('product_id', i.product_id, 'sku', i.sku, 'name', i.name,
			'quantity', i.quantity, 'unit_price_minor', i.unit_price_minor) ORDER BY i.line)
		FROM order_items i WHERE i.order_id = o.id), '[]') AS items,
	COALESCE((SELECT json_agg(json_build_object('step', t.step, 'detail', t.detail, 'at', t.at) ORDER BY t.seq)
		FROM order_timeline t WHERE t.order_id = o.id), '[]') AS timeline`

// Save implements domain.Repository.
func (s *Store) Save(ctx context.Context, o *domain.Order) error {
	row := toOrderRow(o)
	err := s.db.WithContext(ctx).Model(&orderRow{}).Where("id = ?", o.ID()).Updates(map[string]any{
		"status": row.Status, "reason": row.Reason, "stock_committed": row.StockCommitted,
		"payment_captured": row.PaymentCaptured, "confirmed_at": row.ConfirmedAt, "updated_at": row.UpdatedAt,
	}).Error
	if err != nil {
		return errs.Internal(fmt.Errorf("update order: %w", err), "store order")
	}
	return s.saveSteps(ctx, o)
}

func (s *Store) saveSteps(ctx context.Context, o *domain.Order) error {
	first, steps := o.NewSteps()
	if len(steps) == 0 {
		return nil
	}
	rows := make([]stepRow, len(steps))
	for i, st := range steps {
		rows[i] = stepRow{OrderID: o.ID(), Seq: first + i + 1, Step: st.Step, Detail: st.Detail, At: st.At}
	}
	if err := s.db.WithContext(ctx).Create(&rows).Error; err != nil {
		return errs.Internal(fmt.Errorf("insert order timeline: %w", err), "store order")
	}
	o.MarkSaved()
	return nil
}

// Orders implements domain.Repository (keyset pagination, newest first):
// the page, then its items and timelines, three statements in one snapshot.
// (orderSelect's JSON, built for a whole page, costs the server about
// twice as much as these statements with the BEGIN and COMMIT around them.)
func (s *Store) Orders(ctx context.Context, f domain.Filter) ([]*domain.Order, error) {
	var out []*domain.Order
	err := s.snapshot(ctx, func(db *gorm.DB) error {
		q := db.Order("created_at DESC, id DESC").Limit(f.Limit)
		if f.UserID != "" {
			q = q.Where("user_id = ?", f.UserID)
		}
		if f.Status != "" {
			q = q.Where("status = ?", f.Status)
		}
		if f.Before != nil {
			q = q.Where("(created_at, id) < (?, ?)", f.Before.CreatedAt, f.Before.ID)
		}
		var rows []orderRow
		if err := q.Find(&rows).Error; err != nil {
			return fmt.Errorf("select orders: %w", err)
		}
		var err error
		out, err = complete(db, rows)
		return err
	})
	if err != nil {
		return nil, errs.Internal(err, "read orders")
	}
	return out, nil
}

// complete loads the items and timelines of orders, two queries for all.
func complete(db *gorm.DB, rows []orderRow) ([]*domain.Order, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var items []itemRow
	if err := db.Where("order_id IN ?", ids).Order("order_id, line").Find(&items).Error; err != nil {
		return nil, fmt.Errorf("select order items: %w", err)
	}
	var steps []stepRow
	if err := db.Where("order_id IN ?", ids).Order("order_id, seq").Find(&steps).Error; err != nil {
		return nil, fmt.Errorf("select order timeline: %w", err)
	}
	itemsOf, stepsOf := map[string][]itemRow{}, map[string][]stepRow{}
	for _, it := range items {
		itemsOf[it.OrderID] = append(itemsOf[it.OrderID], it)
	}
	for _, st := range steps {
		stepsOf[st.OrderID] = append(stepsOf[st.OrderID], st)
	}
	out := make([]*domain.Order, len(rows))
	for i, r := range rows {
		out[i] = toOrder(r, itemsOf[r.ID], stepsOf[r.ID])
	}
	return out, nil
}

// Publish implements domain.Repository.
func (s *Store) Publish(ctx context.Context, facts ...domain.Fact) error {
	if len(facts) == 0 {
		return nil
	}
	return s.publish(ctx, s.db, facts...)
}

// Handled implements domain.Repository: inside a transaction, the event
// whose call handler runs in ctx is recorded handled with its commit.
func (s *Store) Handled(ctx context.Context) { events.Handled(ctx, s.db) }
