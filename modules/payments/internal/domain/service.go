package domain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shopmonolith/shop/modules/payments/internal/gateway"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// Retries of an authorization the gateway answered with an error: a few,
// quickly, all within the one gateway deadline.
const (
	authorizeRetries = 3
	retryBackoff     = 10 * time.Millisecond // doubles per retry
)

// Idempotency keys: one per order and operation, so a retry of any step,
// from any replica, is the same request to the gateway.
func keyOf(op, orderID string) string { return op + ":" + orderID }

// opAuthorize names the authorization in its idempotency key.
const opAuthorize = "authorize"

// Service takes card payments through a gateway.
type Service struct {
	repo    Repository
	gw      gateway.Gateway
	timeout time.Duration // deadline of one gateway call
	now     func() time.Time
	log     *slog.Logger
}

// NewService returns the service; timeout bounds each call to gw, now is
// the clock.
func NewService(repo Repository, gw gateway.Gateway, timeout time.Duration, now func() time.Time, log *slog.Logger) *Service {
	return &Service{repo: repo, gw: gw, timeout: timeout, now: now, log: log}
}

// Tokenize stores a card and returns its token: any signed-in caller
// (KindUnauthenticated otherwise); KindInvalid names card_number.
func (s *Service) Tokenize(ctx context.Context, number string) (Card, error) {
	if _, err := auth.RequireUser(ctx); err != nil {
		return Card{}, err
	}
	c, err := NewCard(number, s.now())
	if err != nil {
		return Card{}, err
	}
	if err := s.repo.AddCard(ctx, c); err != nil {
		return Card{}, err
	}
	return c, nil
}

// Payment returns an order's payment to the service, an admin, or the
// order's customer; another customer gets KindNotFound (so that order ids
// cannot be probed), as does every customer for a payment recorded without
// its customer.
func (s *Service) Payment(ctx context.Context, orderID string) (Payment, error) {
	caller, err := auth.RequireUser(ctx)
	if err != nil {
		return Payment{}, err
	}
	p, err := s.repo.Payment(ctx, orderID)
	switch {
	case err != nil:
		return Payment{}, err
	case caller.Role != auth.RoleService && !caller.IsAdmin() && (p.UserID() == "" || p.UserID() != caller.UserID):
		// Another customer's payment is not found, as their order is not,
		// in the very words of a payment that does not exist.
		return Payment{}, NoPayment()
	}
	return p, nil
}

// Authorize holds the amount on the card, once per order (service role).
// KindInvalid as NewAuthorizeRequest, or naming card_token for an unknown
// token. An existing payment of the order is returned as it is
// (KindConflict when the request asks for another amount or card).
// Otherwise the gateway is asked with the order's idempotency key, and its
// answer is recorded with its event in one transaction; the gateway call
// itself runs outside any transaction. Two concurrent calls send the same
// key, so the gateway authorizes once, and the order's unique payment row
// keeps one answer and one event.
func (s *Service) Authorize(ctx context.Context, in AuthorizeInput) (Payment, error) {
	if _, err := auth.RequireRole(ctx, auth.RoleService); err != nil {
		return Payment{}, err
	}
	r, err := NewAuthorizeRequest(in)
	if err != nil {
		return Payment{}, err
	}
	if p, err := s.repo.Payment(ctx, r.OrderID); err == nil {
		return sameRequest(p, r)
	} else if !errs.Is(err, errs.KindNotFound) {
		return Payment{}, err
	}
	card, err := s.repo.Card(ctx, r.CardToken)
	if errs.Is(err, errs.KindNotFound) {
		return Payment{}, errs.Invalid(errs.Field("card_token", "unknown", "is not a known card token"))
	} else if err != nil {
		return Payment{}, err
	}
	outcome, err := s.authorizeAtGateway(ctx, card, r)
	if err != nil {
		return Payment{}, err
	}
	p, err := NewPayment(r, card, outcome, s.now())
	if err != nil {
		return Payment{}, err
	}
	stored, added, err := s.repo.AddPayment(ctx, p, p.Fact())
	if err != nil {
		return Payment{}, err
	}
	if !added {
		return sameRequest(stored, r)
	}
	if outcome.Reason == ReasonTimeout {
		s.cancelUnanswered(ctx, r.OrderID)
	}
	return stored, nil
}

func sameRequest(p Payment, r AuthorizeRequest) (Payment, error) {
	if !p.Matches(r) {
		return Payment{}, errs.E(errs.KindConflict, "the order was authorized before with another amount or card")
	}
	return p, nil
}

// authorizeAtGateway asks the gateway, retrying errors a few times within
// one deadline. The answer is an outcome to record; the error is only for
// a caller who gave up (its ctx ended), when nothing is recorded: a retry
// sends the same key and gets the gateway's first answer.
func (s *Service) authorizeAtGateway(ctx context.Context, card Card, r AuthorizeRequest) (Outcome, error) {
	gctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	amount := gateway.Amount{Minor: r.Amount.Amount(), Currency: r.Amount.Currency()}
	key := keyOf(opAuthorize, r.OrderID)
	for attempt := 0; attempt <= authorizeRetries; attempt++ {
		if attempt > 0 && !wait(gctx, retryBackoff<<(attempt-1)) {
			break
		}
		a, err := s.gw.Authorize(gctx, card.Number(), amount, key)
		switch {
		case err == nil && a.Approved() && a.Ref != "":
			return Outcome{Status: StatusAuthorized, ProviderRef: a.Ref}, nil
		case err == nil && !a.Approved():
			return Outcome{Status: StatusDeclined, Reason: a.DeclineReason}, nil
		case err == nil:
			err = errors.New("approved without a reference")
		}
		s.log.WarnContext(ctx, "card gateway: authorization failed",
			slog.String("order_id", r.OrderID), slog.Int("attempt", attempt+1), slog.Any("error", err))
		if gctx.Err() != nil {
			break
		}
	}
	switch {
	case ctx.Err() != nil:
		return Outcome{}, errs.Wrap(errs.KindUnavailable, ctx.Err(), "the request ended before the card gateway answered")
	case gctx.Err() != nil:
		return Outcome{Status: StatusFailed, Reason: ReasonTimeout}, nil
	}
	return Outcome{Status: StatusFailed, Reason: ReasonProcessing}, nil
}

// cancelUnanswered voids, by the authorization's idempotency key, an
// authorization whose answer never came: the gateway may have approved it
// after all, and the payment is recorded failed, so nothing may stay held.
// It is best effort (within its own gateway deadline); a failure is logged
// and the authorization expires at the provider.
func (s *Service) cancelUnanswered(ctx context.Context, orderID string) {
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	if err := s.gw.Void(gctx, keyOf(opAuthorize, orderID), keyOf(OpVoid, orderID)); err != nil {
		s.log.WarnContext(ctx, "card gateway: cancelling an unanswered authorization failed",
			slog.String("order_id", orderID), slog.Any("error", err))
	}
}

// wait pauses for d unless ctx ends first; it reports whether d passed.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Capture takes the authorized amount (service role); see
// Payment.BeginCapture for the rules.
func (s *Service) Capture(ctx context.Context, orderID string) (Payment, error) {
	if _, err := auth.RequireRole(ctx, auth.RoleService); err != nil {
		return Payment{}, err
	}
	return s.drive(ctx, orderID, func(p *Payment) (string, error) { return p.BeginCapture(s.now()) })
}

// Refund voids an authorization or refunds a capture (service role); see
// Payment.BeginRefund for the rules.
func (s *Service) Refund(ctx context.Context, orderID string) (Payment, error) {
	if _, err := auth.RequireRole(ctx, auth.RoleService); err != nil {
		return Payment{}, err
	}
	return s.drive(ctx, orderID, func(p *Payment) (string, error) { return p.BeginRefund(s.now()), nil })
}

// maxSteps bounds drive: a refund may finish a pending capture first, so
// two gateway operations, and a third decision finds nothing left to do.
const maxSteps = 3

// drive moves a payment on until begin finds nothing left to do. Each step
// records the operation as pending (a short transaction under the row
// lock), calls the gateway with the operation's key outside any
// transaction, and settles it with its event (again under the row lock).
// A gateway error or timeout leaves the payment as it was, with the
// operation pending: KindUnavailable, and the caller's retry (or, if none
// comes, FinishPending) finishes it with the same key.
func (s *Service) drive(ctx context.Context, orderID string, begin func(*Payment) (string, error)) (Payment, error) {
	if orderID == "" || len(orderID) > MaxOrderIDLen {
		return Payment{}, NoPayment()
	}
	for range maxSteps {
		var op string
		p, err := s.repo.UpdatePayment(ctx, orderID, func(p *Payment) ([]any, error) {
			var err error
			op, err = begin(p)
			return nil, err
		})
		if err != nil || op == "" {
			return p, err
		}
		if err := s.atGateway(ctx, p, op); err != nil {
			return Payment{}, err
		}
		settled, err := s.repo.UpdatePayment(ctx, orderID, func(p *Payment) ([]any, error) {
			if fact := p.Settle(op, s.now()); fact != nil {
				return []any{fact}, nil
			}
			return nil, nil
		})
		if err != nil {
			return Payment{}, err
		}
		// The settled payment was read under its row lock and is current as
		// of that commit. When it leaves nothing to do, asking again under
		// the lock would commit a transaction that only locked the row (a
		// WAL flush that records nothing); a change made since is another
		// caller's, who drives it on.
		if next := settled; nothingLeft(&next, begin) {
			return settled, nil
		}
	}
	return Payment{}, errs.Internal(fmt.Errorf("payment of order %s: no settled state after %d steps", orderID, maxSteps), "move payment")
}

// nothingLeft reports whether begin finds no operation to start on p (a
// copy: begin may change it).
func nothingLeft(p *Payment, begin func(*Payment) (string, error)) bool {
	op, err := begin(p)
	return err == nil && op == ""
}

// atGateway runs op for p within the gateway deadline.
func (s *Service) atGateway(ctx context.Context, p Payment, op string) error {
	gctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	amount := gateway.Amount{Minor: p.amount.amount, Currency: p.amount.currency}
	key := keyOf(op, p.orderID)
	var err error
	switch op {
	case OpCapture:
		err = s.gw.Capture(gctx, p.providerRef, amount, key)
	case OpVoid:
		err = s.gw.Void(gctx, p.providerRef, key)
	case OpRefund:
		err = s.gw.Refund(gctx, p.providerRef, amount, key)
	default:
		err = fmt.Errorf("unknown operation %q", op)
	}
	if err != nil {
		s.log.WarnContext(ctx, "card gateway: operation failed",
			slog.String("order_id", p.orderID), slog.String("operation", op), slog.Any("error", err))
		return errs.Wrap(errs.KindUnavailable, err, "the card gateway did not confirm the %s; retry", op)
	}
	return nil
}

// Abandoned operations. A pending operation nobody has taken up for the
// grace period was abandoned: its caller gave up after a gateway failure,
// or the process ended between the steps. The grace period is also how
// long a sweep's claim keeps other sweeps away, so it must outlast one
// step of drive (two short transactions and one gateway call, which the
// timeout bounds) with room to spare.
const (
	minPendingGrace    = time.Minute
	pendingGraceFactor = 4 // × the gateway timeout, when that is longer
)

// PendingGrace is how long a pending operation may go without being taken
// up before FinishPending takes it up.
func (s *Service) PendingGrace() time.Duration {
	return max(minPendingGrace, pendingGraceFactor*s.timeout)
}

// FinishPending finishes the capture, void and refund operations that were
// abandoned (last taken up a grace period or more before now), one at a
// time, by the path a caller's retry takes: the same idempotency key, so
// the gateway applies each once, and the same settling, so each event is
// published once. Each is claimed first (see Repository.ClaimPending), so
// that concurrent sweeps, on this replica or others, never take up the same
// one; an operation the gateway still fails stays pending, claimed at now,
// and a sweep after the grace period tries it again. It returns how many
// it finished and how many it left pending; a storage failure (or the end
// of ctx) ends the sweep with its error. It is the sweeper's work, not a
// caller's, so it checks no principal.
func (s *Service) FinishPending(ctx context.Context, now time.Time) (finished, left int, err error) {
	now = now.UTC().Truncate(time.Microsecond)
	due := now.Add(-s.PendingGrace())
	for ctx.Err() == nil {
		orderID, ok, err := s.repo.ClaimPending(ctx, due, now)
		if err != nil || !ok {
			return finished, left, err
		}
		_, err = s.drive(ctx, orderID, func(p *Payment) (string, error) { return p.Resume(), nil })
		switch {
		case err == nil:
			finished++
		case errs.Is(err, errs.KindUnavailable) && ctx.Err() == nil:
			left++ // logged by atGateway
		default:
			return finished, left, err
		}
	}
	return finished, left, ctx.Err()
}

// NoPayment is the answer for an order without a payment, and for one
// whose payment the caller may not see.
func NoPayment() error { return errs.E(errs.KindNotFound, "the order has no payment") }
