// Package store keeps the inventory in PostgreSQL (the module's own schema),
// behind domain.Repository: gorm row structs, their converters, and the
// queries. Every query is parameterized. The database's CHECK constraints
// back the domain's rules: a write that would leave stock negative or over
// reserved fails instead of landing.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/inventory/internal/domain"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
)

// Publish records facts as outgoing events in tx, the transaction that made
// them true, so they are published exactly when it commits.
type Publish func(ctx context.Context, tx *gorm.DB, facts ...any) error

// Store implements domain.Repository on the inventory's schema.
type Store struct {
	db      *database.DB
	publish Publish
}

var _ domain.Repository = (*Store)(nil)

// New returns a store on the module's own database access that publishes
// facts through publish.
func New(db *database.DB, publish Publish) *Store { return &Store{db: db, publish: publish} }

// seedBatch bounds the products one seeding statement inserts.
const seedBatch = 1000

// reservationColumns reads a reservation with its lines in request order.
const reservationColumns = `r.id, r.status, r.expires_at, r.shortages, r.created_at, r.updated_at,
	coalesce((SELECT jsonb_agg(jsonb_build_object('product_id', l.product_id, 'quantity', l.quantity) ORDER BY l.position)
		FROM reservation_lines l WHERE l.reservation_id = r.id), '[]') AS lines`

// InTx implements domain.Repository.
func (s *Store) InTx(ctx context.Context, fn func(domain.Tx) error) error {
	err := s.db.InTx(ctx, func(g *gorm.DB) error { return fn(&txStore{g: g, publish: s.publish}) })
	return errs.Internal(err, "inventory transaction")
}

// Levels implements domain.Repository. It is on every product page, so it
// goes through pgx directly.
func (s *Store) Levels(ctx context.Context, productIDs []string) ([]domain.Level, error) {
	rows, err := s.db.Pool.Query(ctx,
		`SELECT product_id::text, on_hand, reserved, updated_at FROM stock WHERE product_id = ANY($1::uuid[])`, productIDs)
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("select levels: %w", err), "read stock")
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[levelRow])
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("select levels: %w", err), "read stock")
	}
	return mapSlice(found, toLevel), nil
}

// Reservation implements domain.Repository.
func (s *Store) Reservation(ctx context.Context, id string) (domain.Reservation, error) {
	r, found, err := readReservation(s.db.Gorm.WithContext(ctx), id)
	switch {
	case err != nil:
		return domain.Reservation{}, err
	case !found:
		return domain.Reservation{}, errs.E(errs.KindNotFound, "reservation not found")
	}
	return r, nil
}

// SeedLevels implements domain.Repository.
func (s *Store) SeedLevels(ctx context.Context, levels []domain.Level) (int, error) {
	total := 0
	for batch := range slices.Chunk(levels, seedBatch) {
		err := s.db.InTx(ctx, func(g *gorm.DB) error {
			ids, onHand, reserved, updated := levelColumns(batch)
			rows, err := g.Statement.ConnPool.QueryContext(ctx, `INSERT INTO stock (product_id, on_hand, reserved, updated_at)
				SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::timestamptz[])
				ON CONFLICT (product_id) DO NOTHING
				RETURNING product_id::text, on_hand, reserved, updated_at`, ids, onHand, reserved, updated)
			if err != nil {
				return fmt.Errorf("insert levels: %w", err)
			}
			stored, err := scanLevels(rows)
			if err != nil {
				return fmt.Errorf("insert levels: %w", err)
			}
			facts := make([]any, len(stored))
			for i, l := range stored {
				facts[i] = domain.StockChanged{Level: l, Reason: domain.ReasonSet}
			}
			total += len(stored)
			return s.publish(ctx, g, facts...)
		})
		if err != nil {
			return total, errs.Internal(err, "seed stock")
		}
	}
	return total, nil
}

func scanLevels(rows *sql.Rows) ([]domain.Level, error) {
	defer rows.Close()
	var out []domain.Level
	for rows.Next() {
		var r levelRow
		if err := rows.Scan(&r.ProductID, &r.OnHand, &r.Reserved, &r.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, toLevel(r))
	}
	return out, rows.Err()
}

// readReservation reads one reservation through g (a connection or a
// transaction) without locking it.
func readReservation(g *gorm.DB, id string) (domain.Reservation, bool, error) {
	var rows []reservationRow
	if err := g.Raw(`SELECT `+reservationColumns+` FROM reservations r WHERE r.id = ?`, id).Scan(&rows).Error; err != nil {
		return domain.Reservation{}, false, errs.Internal(fmt.Errorf("select reservation: %w", err), "read reservation")
	}
	if len(rows) == 0 {
		return domain.Reservation{}, false, nil
	}
	r, err := toReservation(rows[0])
	if err != nil {
		return domain.Reservation{}, false, errs.Internal(err, "read reservation")
	}
	return r, true, nil
}

// txStore is the store inside one transaction.
type txStore struct {
	g       *gorm.DB
	publish Publish
}

var _ domain.Tx = (*txStore)(nil)

// exec runs a statement with PostgreSQL placeholders ($1…) on the
// transaction's connection: gorm would expand slice arguments meant as
// arrays.
func (t *txStore) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.g.Statement.ConnPool.ExecContext(ctx, query, args...)
}

// Reservation implements domain.Tx. A locking read takes the lock first and
// reads in a second statement: under READ COMMITTED a statement that waited
// for the lock sees the row's new version, but its subquery (the lines)
// would still see the snapshot from before the wait.
func (t *txStore) Reservation(ctx context.Context, id string, lock bool) (domain.Reservation, bool, error) {
	g := t.g.WithContext(ctx)
	if lock {
		var ids []string
		if err := g.Raw(`SELECT id FROM reservations WHERE id = ? FOR UPDATE`, id).Scan(&ids).Error; err != nil {
			return domain.Reservation{}, false, errs.Internal(fmt.Errorf("lock reservation: %w", err), "read reservation")
		}
		if len(ids) == 0 {
			return domain.Reservation{}, false, nil
		}
	}
	return readReservation(g, id)
}

// LockLevels implements domain.Tx. The rows are locked in the order the
// query returns them, which ORDER BY fixes: every transaction locks stock
// in product order, so two of them never wait for each other in a circle.
func (t *txStore) LockLevels(ctx context.Context, productIDs []string) (*domain.Ledger, error) {
	ids := slices.Clone(productIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return domain.NewLedger(nil), nil
	}
	var rows []levelRow
	err := t.g.WithContext(ctx).Raw(`SELECT product_id, on_hand, reserved, updated_at FROM stock
		WHERE product_id IN ? ORDER BY product_id FOR UPDATE`, ids).Scan(&rows).Error
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("lock stock: %w", err), "lock stock")
	}
	return domain.NewLedger(mapSlice(rows, toLevel)), nil
}

// LockLevelCreating implements domain.Tx.
func (t *txStore) LockLevelCreating(ctx context.Context, productID string, now time.Time) (*domain.Ledger, error) {
	err := t.g.WithContext(ctx).Exec(`INSERT INTO stock (product_id, on_hand, reserved, updated_at) VALUES (?, 0, 0, ?)
		ON CONFLICT (product_id) DO NOTHING`, productID, now).Error
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("create stock row: %w", err), "lock stock")
	}
	return t.LockLevels(ctx, []string{productID})
}

// InsertReservation implements domain.Tx. The insert, not a read before it,
// decides who owns an id: a concurrent insert of the same id waits for the
// first to commit and then inserts nothing.
func (t *txStore) InsertReservation(ctx context.Context, r domain.Reservation) (bool, error) {
	shortages, err := shortagesJSON(r)
	if err != nil {
		return false, errs.Internal(fmt.Errorf("encode shortages: %w", err), "store reservation")
	}
	var ids []string
	err = t.g.WithContext(ctx).Raw(`INSERT INTO reservations (id, status, expires_at, shortages, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id`,
		r.ID(), r.Status(), expiresAt(r), shortages, r.CreatedAt(), r.UpdatedAt()).Scan(&ids).Error
	if err != nil {
		return false, errs.Internal(fmt.Errorf("insert reservation: %w", err), "store reservation")
	}
	if len(ids) == 0 {
		return false, nil
	}
	return true, t.InsertLines(ctx, r)
}

// InsertLines implements domain.Tx. Nothing in the transaction reads the
// lines back, so they travel with the COMMIT.
func (t *txStore) InsertLines(ctx context.Context, r domain.Reservation) error {
	if len(r.Lines()) == 0 {
		return nil
	}
	const insert = `INSERT INTO reservation_lines (reservation_id, position, product_id, quantity)
		SELECT $1, l.position, l.product_id, l.quantity
		FROM unnest($2::uuid[], $3::int[]) WITH ORDINALITY AS l(product_id, quantity, position)`
	ids, quantities := lineColumns(r)
	if database.DeferToCommit(t.g, insert, r.ID(), ids, quantities) {
		return nil
	}
	if _, err := t.exec(ctx, insert, r.ID(), ids, quantities); err != nil {
		return errs.Internal(fmt.Errorf("insert reservation lines: %w", err), "store reservation")
	}
	return nil
}

// UpdateReservation implements domain.Tx.
func (t *txStore) UpdateReservation(ctx context.Context, r domain.Reservation) error {
	shortages, err := shortagesJSON(r)
	if err != nil {
		return errs.Internal(fmt.Errorf("encode shortages: %w", err), "store reservation")
	}
	res := t.g.WithContext(ctx).Exec(`UPDATE reservations SET status = ?, expires_at = ?, shortages = ?, updated_at = ? WHERE id = ?`,
		r.Status(), expiresAt(r), shortages, r.UpdatedAt(), r.ID())
	switch {
	case res.Error != nil:
		return errs.Internal(fmt.Errorf("update reservation: %w", res.Error), "store reservation")
	case res.RowsAffected != 1:
		return errs.Internal(fmt.Errorf("update reservation %s: %d rows", r.ID(), res.RowsAffected), "store reservation")
	}
	return nil
}

// SaveLevels implements domain.Tx: one statement for all levels.
func (t *txStore) SaveLevels(ctx context.Context, levels []domain.Level) error {
	if len(levels) == 0 {
		return nil
	}
	ids, onHand, reserved, updated := levelColumns(levels)
	res, err := t.exec(ctx, `UPDATE stock s SET on_hand = v.on_hand, reserved = v.reserved, updated_at = v.updated_at
		FROM unnest($1::uuid[], $2::int[], $3::int[], $4::timestamptz[]) AS v(product_id, on_hand, reserved, updated_at)
		WHERE s.product_id = v.product_id`, ids, onHand, reserved, updated)
	if err != nil {
		return errs.Internal(fmt.Errorf("update stock: %w", err), "store stock")
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(levels)) {
		return errs.Internal(fmt.Errorf("update stock: %d of %d rows (%v)", n, len(levels), err), "store stock")
	}
	return nil
}

// DueReservations implements domain.Tx. SKIP LOCKED leaves reservations
// another transaction holds (a commit or release in progress, or another
// replica's sweep) to it; under READ COMMITTED a row that such a
// transaction changed meanwhile is checked against the condition again
// before it is locked, so nothing is expired twice.
func (t *txStore) DueReservations(ctx context.Context, now time.Time, limit int) ([]domain.Reservation, error) {
	g := t.g.WithContext(ctx)
	var ids []string
	err := g.Raw(`SELECT id FROM reservations WHERE status = ? AND expires_at <= ?
		ORDER BY expires_at, id LIMIT ? FOR UPDATE SKIP LOCKED`, domain.StatusHeld, now, limit).Scan(&ids).Error
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("claim due reservations: %w", err), "expire reservations")
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []reservationRow
	if err := g.Raw(`SELECT `+reservationColumns+` FROM reservations r WHERE r.id IN ? ORDER BY r.expires_at, r.id`, ids).
		Scan(&rows).Error; err != nil {
		return nil, errs.Internal(fmt.Errorf("read due reservations: %w", err), "expire reservations")
	}
	out := make([]domain.Reservation, 0, len(rows))
	for _, row := range rows {
		r, err := toReservation(row)
		if err != nil {
			return nil, errs.Internal(err, "expire reservations")
		}
		out = append(out, r)
	}
	return out, nil
}

// Publish implements domain.Tx.
func (t *txStore) Publish(ctx context.Context, facts ...any) error {
	if len(facts) == 0 {
		return nil
	}
	if err := t.publish(ctx, t.g, facts...); err != nil {
		return errs.Internal(fmt.Errorf("publish: %w", err), "publish stock events")
	}
	return nil
}

func mapSlice[S, T any](in []S, f func(S) T) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
