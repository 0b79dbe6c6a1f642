// Package simulated is the card provider the shop runs with by default: it
// answers like a real provider, from a ledger of operations kept in the
// payments module's own schema (table gateway_operations), and applies each
// operation once per idempotency key, as a real provider does.
//
// Test cards (any other number is approved): CardDecline is declined with
// card_declined, CardFail errs on every attempt, CardTimeout never answers
// (the call returns when its context ends). The simulator checks
// references and amounts, not the life cycle of an authorization: it
// captures what it is asked to capture. Preventing a second capture or
// refund is the module's job, and the ledger is how tests prove it does.
package simulated

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/platform/database"
)

// Test card numbers; the module's public package documents the same ones.
const (
	CardDecline = "4000000000000002"
	CardFail    = "4000000000000119"
	CardTimeout = "4000000000000259"
)

// ReasonDeclined is the decline reason of CardDecline.
const ReasonDeclined = "card_declined"

// ErrProcessing is what the simulator answers for CardFail.
var ErrProcessing = errors.New("simulated gateway: processing error")

// Operation kinds in the ledger.
const (
	KindAuthorize = "authorize"
	KindCapture   = "capture"
	KindVoid      = "void"
	KindRefund    = "refund"
)

const (
	outcomeApproved = "approved"
	outcomeDeclined = "declined"
)

// Provider is the simulated card provider.
type Provider struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

var _ gateway.Gateway = (*Provider)(nil)

// New returns the provider keeping its ledger in db (the payments module's
// database).
func New(db *database.DB) *Provider {
	return &Provider{pool: db.Pool, now: func() time.Time { return time.Now().UTC() }}
}

// operation is one row of the ledger.
type operation struct {
	key, kind, ref   string
	amount           gateway.Amount
	outcome, decline string
}

// Authorize implements gateway.Gateway.
func (p *Provider) Authorize(ctx context.Context, card string, amount gateway.Amount, key string) (gateway.Authorization, error) {
	switch card {
	case CardFail:
		return gateway.Authorization{}, ErrProcessing
	case CardTimeout:
		<-ctx.Done()
		return gateway.Authorization{}, fmt.Errorf("simulated gateway: no answer: %w", ctx.Err())
	}
	op := operation{key: key, kind: KindAuthorize, amount: amount, outcome: outcomeApproved}
	if card == CardDecline {
		op.outcome, op.decline = outcomeDeclined, ReasonDeclined
	} else {
		ref, err := newRef()
		if err != nil {
			return gateway.Authorization{}, err
		}
		op.ref = ref
	}
	var got operation
	err := p.inTx(ctx, func(tx pgx.Tx) (err error) {
		got, err = record(ctx, tx, op, p.now())
		return err
	})
	if err != nil {
		return gateway.Authorization{}, err
	}
	if got.outcome == outcomeDeclined {
		return gateway.Authorization{DeclineReason: got.decline}, nil
	}
	return gateway.Authorization{Ref: got.ref}, nil
}

// Capture implements gateway.Gateway.
func (p *Provider) Capture(ctx context.Context, ref string, amount gateway.Amount, key string) error {
	return p.settle(ctx, KindCapture, ref, amount, key)
}

// Refund implements gateway.Gateway.
func (p *Provider) Refund(ctx context.Context, ref string, amount gateway.Amount, key string) error {
	return p.settle(ctx, KindRefund, ref, amount, key)
}

// settle records a capture or refund of an approved authorization.
func (p *Provider) settle(ctx context.Context, kind, ref string, amount gateway.Amount, key string) error {
	return p.inTx(ctx, func(tx pgx.Tx) error {
		held, found, err := authorization(ctx, tx, `provider_ref = $1`, ref)
		switch {
		case err != nil:
			return err
		case !found:
			return fmt.Errorf("%s %s: %w", kind, ref, gateway.ErrUnknownReference)
		case amount.Currency != held.amount.Currency || amount.Minor <= 0 || amount.Minor > held.amount.Minor:
			return fmt.Errorf("%s %s of %d %s: %w", kind, ref, amount.Minor, amount.Currency, gateway.ErrAmount)
		}
		_, err = record(ctx, tx, operation{key: key, kind: kind, ref: ref, amount: amount, outcome: outcomeApproved}, p.now())
		return err
	})
}

// Void implements gateway.Gateway. A void of an authorization the ledger
// does not know (its request never arrived, or was answered with a
// decline) is accepted and recorded against the reference given: there is
// nothing to release.
func (p *Provider) Void(ctx context.Context, ref, key string) error {
	return p.inTx(ctx, func(tx pgx.Tx) error {
		held, found, err := authorization(ctx, tx, `(provider_ref = $1 OR idempotency_key = $1)`, ref)
		if err != nil {
			return err
		}
		op := operation{key: key, kind: KindVoid, ref: ref, outcome: outcomeApproved}
		if found {
			op.ref, op.amount = held.ref, held.amount
		}
		_, err = record(ctx, tx, op, p.now())
		return err
	})
}

func (p *Provider) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, p.pool, fn); err != nil {
		return fmt.Errorf("simulated gateway: %w", err)
	}
	return nil
}

// authorization finds the approved authorization where (one placeholder,
// $1 = ref) holds.
func authorization(ctx context.Context, tx pgx.Tx, where, ref string) (operation, bool, error) {
	op := operation{kind: KindAuthorize, outcome: outcomeApproved}
	err := tx.QueryRow(ctx, `SELECT idempotency_key, provider_ref, amount, currency FROM gateway_operations
		WHERE kind = 'authorize' AND outcome = 'approved' AND `+where+` LIMIT 1`, ref).
		Scan(&op.key, &op.ref, &op.amount.Minor, &op.amount.Currency)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return operation{}, false, nil
	case err != nil:
		return operation{}, false, fmt.Errorf("find authorization: %w", err)
	}
	return op, true, nil
}

// record applies op once per key: the first operation under a key is
// stored and returned, a repetition returns what was stored. A key reused
// for another kind, reference or amount is refused. Two concurrent
// requests with one key serialise on the primary key.
func record(ctx context.Context, tx pgx.Tx, op operation, now time.Time) (operation, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO gateway_operations
		(idempotency_key, kind, provider_ref, amount, currency, outcome, decline_reason, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING`,
		op.key, op.kind, op.ref, op.amount.Minor, op.amount.Currency, op.outcome, op.decline, now)
	if err != nil {
		return operation{}, fmt.Errorf("record %s: %w", op.kind, err)
	}
	if tag.RowsAffected() == 1 {
		return op, nil
	}
	first := operation{key: op.key}
	err = tx.QueryRow(ctx, `SELECT kind, provider_ref, amount, currency, outcome, decline_reason
		FROM gateway_operations WHERE idempotency_key = $1`, op.key).
		Scan(&first.kind, &first.ref, &first.amount.Minor, &first.amount.Currency, &first.outcome, &first.decline)
	if err != nil {
		return operation{}, fmt.Errorf("read operation %s: %w", op.key, err)
	}
	sameRef := op.kind == KindAuthorize || op.ref == first.ref
	if first.kind != op.kind || first.amount != op.amount || !sameRef {
		return operation{}, fmt.Errorf("%s under key %q: %w", op.kind, op.key, gateway.ErrKeyReused)
	}
	return first, nil
}

func newRef() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("provider reference: %w", err)
	}
	return "sim_" + hex.EncodeToString(b), nil
}
