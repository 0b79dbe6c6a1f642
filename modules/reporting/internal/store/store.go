// Package store keeps the reporting module's journal and figures in
// PostgreSQL (the module's own schema), behind domain.Repository and
// domain.Tx. Every query is parameterized.
package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/reporting/internal/domain"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
)

// Batch sizes: journal rows read per query during a replay, and figure rows
// written per INSERT (well below PostgreSQL's 65535 parameters).
const (
	defaultReplayBatch = 1000
	writeBatch         = 500
)

// Store implements domain.Repository on the module's database and
// domain.Tx on a transaction.
type Store struct {
	db          *database.DB
	g           *gorm.DB // the database, or the transaction of WithTx
	replayBatch int
}

var (
	_ domain.Repository = (*Store)(nil)
	_ domain.Tx         = (*Store)(nil)
)

// New returns a store on the module's own database access.
func New(db *database.DB) *Store { return &Store{db: db, g: db.Gorm, replayBatch: defaultReplayBatch} }

// WithTx returns the store working inside tx (an event handler's
// transaction), so what it writes commits with the inbox record.
func (s *Store) WithTx(tx *gorm.DB) *Store {
	return &Store{db: s.db, g: tx, replayBatch: s.replayBatch}
}

// InTx implements domain.Repository.
func (s *Store) InTx(ctx context.Context, fn func(tx domain.Tx) error) error {
	return s.db.InTx(ctx, func(tx *gorm.DB) error { return fn(s.WithTx(tx)) })
}

func internal(err error, op string) error {
	if err == nil {
		return nil
	}
	return errs.Internal(fmt.Errorf("%s: %w", op, err), op)
}

// Lock implements domain.Tx. SHARE ROW EXCLUSIVE conflicts with itself and
// with every write, yet lets plain reads of the journal through.
func (s *Store) Lock(ctx context.Context) error {
	return internal(s.g.WithContext(ctx).Exec(`LOCK TABLE journal IN SHARE ROW EXCLUSIVE MODE`).Error, "lock the journal")
}

// Append implements domain.Tx: the primary key, not a read before the
// write, decides whether the event is journalled already.
func (s *Store) Append(ctx context.Context, rec domain.Record) (int64, bool, error) {
	r := toJournalRow(rec)
	var seqs []int64
	err := s.g.WithContext(ctx).Raw(`INSERT INTO journal (event_id, type, order_id, occurred_at, payload)
		VALUES (?, ?, ?, ?, (?::text)::jsonb) ON CONFLICT (event_id) DO NOTHING RETURNING seq`,
		r.EventID, r.Type, r.OrderID, r.OccurredAt, r.Payload).Scan(&seqs).Error
	if err != nil {
		return 0, false, internal(err, "journal the event")
	}
	if len(seqs) == 0 {
		return 0, false, nil
	}
	return seqs[0], true, nil
}

const journalColumns = `event_id, type, order_id, occurred_at, payload::text AS payload, seq`

// History implements domain.Tx.
func (s *Store) History(ctx context.Context, orderID string, before int64) ([]domain.Record, error) {
	var rows []journalRow
	err := s.g.WithContext(ctx).Raw(`SELECT `+journalColumns+` FROM journal
		WHERE order_id = ? AND seq < ? ORDER BY seq`, orderID, before).Scan(&rows).Error
	if err != nil {
		return nil, internal(err, "read the order's journal")
	}
	out := make([]domain.Record, len(rows))
	for i, r := range rows {
		out[i] = toRecord(r)
	}
	return out, nil
}

// Replay implements domain.Tx, reading the journal in batches by keyset on
// (order_id, seq), which journal_order_idx serves.
func (s *Store) Replay(ctx context.Context, fn func(domain.Record) error) (int, error) {
	n := 0
	var last *journalRow
	for {
		var rows []journalRow
		q := s.g.WithContext(ctx)
		if last == nil {
			q = q.Raw(`SELECT `+journalColumns+` FROM journal ORDER BY order_id, seq LIMIT ?`, s.replayBatch)
		} else {
			q = q.Raw(`SELECT `+journalColumns+` FROM journal WHERE (order_id, seq) > (?::uuid, ?)
				ORDER BY order_id, seq LIMIT ?`, last.OrderID, last.Seq, s.replayBatch)
		}
		if err := q.Scan(&rows).Error; err != nil {
			return n, internal(err, "read the journal")
		}
		for _, r := range rows {
			if err := fn(toRecord(r)); err != nil {
				return n, err
			}
		}
		n += len(rows)
		if len(rows) < s.replayBatch {
			return n, nil
		}
		last = &rows[len(rows)-1]
	}
}

// Apply implements domain.Tx: rows are added to the stored ones, a product
// is renamed only by a later sale (name_seq).
func (s *Store) Apply(ctx context.Context, d domain.Delta) error {
	if err := s.insertDays(ctx, d.Days, `ON CONFLICT (day, currency) DO UPDATE SET
		orders = d.orders + excluded.orders, units = d.units + excluded.units,
		revenue_minor = d.revenue_minor + excluded.revenue_minor`); err != nil {
		return err
	}
	return s.insertProducts(ctx, d.Products, `ON CONFLICT (product_id, currency) DO UPDATE SET
		orders = p.orders + excluded.orders, units = p.units + excluded.units,
		revenue_minor = p.revenue_minor + excluded.revenue_minor,
		sku = CASE WHEN excluded.name_seq > p.name_seq THEN excluded.sku ELSE p.sku END,
		name = CASE WHEN excluded.name_seq > p.name_seq THEN excluded.name ELSE p.name END,
		name_seq = GREATEST(p.name_seq, excluded.name_seq)`)
}

// Replace implements domain.Tx. DELETE rather than TRUNCATE: readers keep
// seeing the old figures until the rebuild commits instead of queueing
// behind it.
func (s *Store) Replace(ctx context.Context, p *domain.Projection) error {
	g := s.g.WithContext(ctx)
	if err := g.Exec(`DELETE FROM sales_daily`).Error; err != nil {
		return internal(err, "clear the daily sales")
	}
	if err := g.Exec(`DELETE FROM product_sales`).Error; err != nil {
		return internal(err, "clear the product sales")
	}
	if err := s.insertDays(ctx, p.Days(), ""); err != nil {
		return err
	}
	return s.insertProducts(ctx, p.Products(), "")
}

func (s *Store) insertDays(ctx context.Context, days []domain.DayRow, onConflict string) error {
	for chunk := range chunks(days) {
		var b strings.Builder
		args := make([]any, 0, 5*len(chunk))
		b.WriteString(`INSERT INTO sales_daily AS d (day, currency, orders, units, revenue_minor) VALUES `)
		for i, d := range chunk {
			r := toDayRow(d)
			b.WriteString(sep(i) + "(?, ?, ?, ?, ?)")
			args = append(args, r.Day, r.Currency, r.Orders, r.Units, r.RevenueMinor)
		}
		b.WriteString(" " + onConflict)
		if err := s.g.WithContext(ctx).Exec(b.String(), args...).Error; err != nil {
			return internal(err, "write the daily sales")
		}
	}
	return nil
}

func (s *Store) insertProducts(ctx context.Context, products []domain.ProductRow, onConflict string) error {
	for chunk := range chunks(products) {
		var b strings.Builder
		args := make([]any, 0, 8*len(chunk))
		b.WriteString(`INSERT INTO product_sales AS p
			(product_id, currency, sku, name, name_seq, orders, units, revenue_minor) VALUES `)
		for i, p := range chunk {
			r := toProductRow(p)
			b.WriteString(sep(i) + "(?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, r.ProductID, r.Currency, r.SKU, r.Name, r.NameSeq, r.Orders, r.Units, r.RevenueMinor)
		}
		b.WriteString(" " + onConflict)
		if err := s.g.WithContext(ctx).Exec(b.String(), args...).Error; err != nil {
			return internal(err, "write the product sales")
		}
	}
	return nil
}

func sep(i int) string {
	if i == 0 {
		return ""
	}
	return ", "
}

// chunks splits rows into INSERT-sized batches.
func chunks[T any](rows []T) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(rows) > 0 {
			n := min(len(rows), writeBatch)
			if !yield(rows[:n]) {
				return
			}
			rows = rows[n:]
		}
	}
}

// Days implements domain.Repository. It runs on pgx directly: a report is a
// plain read, outside any transaction.
func (s *Store) Days(ctx context.Context, f domain.DayFilter) ([]domain.DayRow, error) {
	sql := `SELECT day, currency, orders, units, revenue_minor FROM sales_daily
		WHERE day BETWEEN $1 AND $2 AND orders > 0`
	args := []any{f.From, f.To}
	if f.Currency != "" {
		sql += ` AND currency = $3`
		args = append(args, f.Currency)
	}
	rows, err := s.db.Pool.Query(ctx, sql+` ORDER BY day, currency`, args...)
	if err != nil {
		return nil, internal(err, "read the daily sales")
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dayRow])
	if err != nil {
		return nil, internal(err, "read the daily sales")
	}
	out := make([]domain.DayRow, len(found))
	for i, r := range found {
		out[i] = toDomainDay(r)
	}
	return out, nil
}

// TopProducts implements domain.Repository.
func (s *Store) TopProducts(ctx context.Context, f domain.TopFilter) ([]domain.ProductRow, error) {
	sql := `SELECT product_id::text, currency, sku, name, name_seq, orders, units, revenue_minor
		FROM product_sales WHERE orders > 0`
	args := []any{f.Limit}
	if f.Currency != "" {
		sql += ` AND currency = $2`
		args = append(args, f.Currency)
	}
	rows, err := s.db.Pool.Query(ctx, sql+` ORDER BY revenue_minor DESC, units DESC, product_id, currency LIMIT $1`, args...)
	if err != nil {
		return nil, internal(err, "read the product sales")
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[productRow])
	if err != nil {
		return nil, internal(err, "read the product sales")
	}
	out := make([]domain.ProductRow, len(found))
	for i, r := range found {
		out[i] = toDomainProduct(r)
	}
	return out, nil
}
