package domain

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/errs"
)

// Service is the orders use cases.
type Service struct {
	repo     Repository // outside transactions
	tx       Transactor
	cart     Cart
	stock    Stock
	payments Payments
	now      func() time.Time
	log      *slog.Logger

	checkoutStale time.Duration // see CheckoutStale
}

// NewService wires the use cases; checkoutStale is CheckoutStale of the
// request deadline checkouts run under.
func NewService(repo Repository, tx Transactor, cart Cart, stock Stock, payments Payments, now func() time.Time, log *slog.Logger,
	checkoutStale time.Duration,
) *Service {
	return &Service{repo: repo, tx: tx, cart: cart, stock: stock, payments: payments, now: now, log: log, checkoutStale: checkoutStale}
}

// Checkout places an order from the caller's cart; replayed reports that the
// key had placed it before.
func (s *Service) Checkout(ctx context.Context, key, cardNumber string) (o *Order, replayed bool, err error) {
	p, err := auth.RequireUser(ctx)
	if err != nil {
		return nil, false, err
	}
	if err := checkKey(key); err != nil {
		return nil, false, err
	}
	hash := requestHash(cardNumber)
	if o, found, err := s.replay(ctx, p.UserID, key, hash); err != nil || found {
		return o, found, err
	}
	// One checkout per customer at a time: the cart is read here and
	// emptied after the order is stored, in another module, with no
	// transaction across them, so two checkouts sent at once with different
	// keys would otherwise both order what it holds.
	started, err := s.repo.StartCheckout(ctx, p.UserID, key, s.checkoutStale)
	if err != nil {
		return nil, false, err
	}
	if !started {
		return nil, false, errs.E(errs.KindConflict, "another checkout of this cart is in progress; its answer holds the order").
			WithField("cart", "one_checkout", "one checkout of the cart at a time")
	}
	defer func() {
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := s.repo.EndCheckout(ectx, p.UserID, key); err != nil {
			s.log.WarnContext(ctx, "checkout record not cleared; it lapses", slog.String("error", err.Error()))
		}
	}()
	o, err = s.newOrder(ctx, p, cardNumber)
	if err != nil {
		// A concurrent request with the same key may have placed the order
		// (and emptied the cart) meanwhile: then that order is the answer.
		if prev, found, rerr := s.replay(ctx, p.UserID, key, hash); rerr == nil && found {
			return prev, true, nil
		}
		return nil, false, err
	}
	errTaken := errors.New("idempotency key taken")
	err = s.tx(ctx, func(r Repository) error {
		inserted, err := r.Insert(ctx, o, key, hash)
		if err != nil {
			return err
		}
		if !inserted {
			return errTaken
		}
		return r.Publish(ctx, Fact{Kind: FactPlaced, Order: o, At: o.CreatedAt()})
	})
	if errors.Is(err, errTaken) { // a concurrent request with the same key won
		o, found, err := s.replay(ctx, p.UserID, key, hash)
		if err == nil && !found {
			err = errs.Internal(errors.New("idempotency key vanished"), "checkout")
		}
		return o, found, err
	}
	if err != nil {
		return nil, false, err
	}
	// The order stands even when the cart cannot be emptied now; the
	// customer sees the order and can clear the cart themselves. A client
	// that hung up after sending the checkout must not leave the cart full:
	// the clear outlives the request, briefly.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.cart.Clear(cctx); err != nil {
		s.log.WarnContext(ctx, "cart not cleared after checkout", slog.String("order_id", o.ID()), slog.String("error", err.Error()))
	}
	return o, false, nil
}

// CheckoutStale is how long after it started a customer's checkout no
// longer holds back another (its process stopped before it ended), for a
// request deadline: a checkout that runs ends well within it (its
// deadline, then the cart's clearing), 30 s for the default 10 s.
func CheckoutStale(requestTimeout time.Duration) time.Duration {
	return 2*requestTimeout + 10*time.Second
}

// newOrder prices the caller's cart into an order paid with the card.
func (s *Service) newOrder(ctx context.Context, p auth.Principal, cardNumber string) (*Order, error) {
	snap, err := s.cart.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	items, currency, err := orderLines(snap)
	if err != nil {
		return nil, err
	}
	if _, err := totalOf(items); err != nil { // before the card is kept for it
		return nil, err
	}
	card, err := s.payments.Tokenize(ctx, cardNumber)
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, errs.Internal(err, "order id")
	}
	return NewOrder(id.String(), p.UserID, p.Email, items, currency, card.Token, card.Last4, s.now())
}

func (s *Service) replay(ctx context.Context, userID, key, hash string) (*Order, bool, error) {
	id, stored, found, err := s.repo.Idempotent(ctx, userID, key)
	if err != nil || !found {
		return nil, false, err
	}
	if stored != hash {
		return nil, false, errs.E(errs.KindConflict, "this Idempotency-Key was used for a different checkout").
			WithField("idempotency_key", "same_request", "must be sent again only with the same request")
	}
	o, err := s.repo.Order(ctx, id, false)
	return o, err == nil, err
}

func checkKey(key string) error {
	switch {
	case key == "":
		return errs.Invalid(errs.Field("idempotency_key", "required", "send an Idempotency-Key header, the same on every retry of this checkout"))
	case len(key) > 200:
		return errs.Invalid(errs.Field("idempotency_key", "max", "must be at most 200 characters"))
	case strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) || r > unicode.MaxASCII }) >= 0:
		return errs.Invalid(errs.Field("idempotency_key", "printable", "must be printable ASCII"))
	}
	return nil
}

// requestHash identifies the request a key was first used with. It is
// derived from the card's truncated number (first six and last four digits,
// and the length) only: a hash of the whole number could be reversed by
// trying the few digits in between, and the truncated form is what may be
// kept of a card anyway.
func requestHash(cardNumber string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, cardNumber)
	if len(digits) >= 10 {
		digits = fmt.Sprintf("%s…%s/%d", digits[:6], digits[len(digits)-4:], len(digits))
	}
	sum := sha256.Sum256([]byte(digits))
	return hex.EncodeToString(sum[:])
}

func orderLines(snap CartSnapshot) ([]Item, string, error) {
	if len(snap.Lines) == 0 {
		return nil, "", errs.E(errs.KindConflict, "the cart is empty").WithField("cart", "not_empty", "must hold at least one product")
	}
	if snap.Stale {
		e := errs.E(errs.KindUnavailable, "prices cannot be confirmed right now; please try again in a moment")
		e.RetryAfter = time.Second
		return nil, "", e
	}
	items := make([]Item, 0, len(snap.Lines))
	currency := snap.Lines[0].Currency
	for _, l := range snap.Lines {
		switch {
		case l.Unavailable:
			return nil, "", errs.E(errs.KindConflict, "%s is no longer sold; remove it from the cart", l.Name).WithField("cart", "available", "every product must be available")
		case !l.InStock:
			return nil, "", errs.E(errs.KindConflict, "not enough %s in stock; lower the quantity", l.Name).WithField("cart", "in_stock", "every line must be in stock")
		case l.Currency != currency:
			return nil, "", errs.E(errs.KindConflict, "the cart mixes currencies").WithField("cart", "currency", "every line must have the same currency")
		}
		items = append(items, Item{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice})
	}
	return items, currency, nil
}

// Order returns one order the caller may see.
func (s *Service) Order(ctx context.Context, id string) (*Order, error) {
	p, err := auth.RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, errs.E(errs.KindNotFound, "order not found")
	}
	o, err := s.repo.Order(ctx, id, false)
	if err != nil {
		return nil, err
	}
	return o, visible(p, o)
}

// visible hides other customers' orders as not found, so that ids cannot be
// probed.
func visible(p auth.Principal, o *Order) error {
	if p.IsAdmin() || p.UserID == o.UserID() {
		return nil
	}
	return errs.E(errs.KindNotFound, "order not found")
}

// Query selects a page of orders.
type Query struct {
	UserID, Status, After string
	Limit                 int
}

// Page is one page of orders.
type Page struct {
	Items      []*Order
	NextCursor string
}

var statuses = map[string]bool{StatusPlaced: true, StatusStockReserved: true, StatusConfirmed: true, StatusShipped: true,
	StatusRejected: true, StatusFailed: true, StatusCancelled: true}

// Orders returns a page of the caller's orders, or anyone's for admins.
func (s *Service) Orders(ctx context.Context, q Query) (Page, error) {
	p, err := auth.RequireUser(ctx)
	if err != nil {
		return Page{}, err
	}
	f := Filter{UserID: q.UserID, Status: q.Status, Limit: q.Limit}
	var v errs.Fields
	if f.Limit == 0 {
		f.Limit = 20
	} else if f.Limit < 1 || f.Limit > 100 {
		v.Add("limit", "range", "must be between 1 and 100")
	}
	if f.Status != "" && !statuses[f.Status] {
		v.Add("status", "oneof", "must be an order status")
	}
	if f.UserID != "" {
		if _, err := uuid.Parse(f.UserID); err != nil {
			v.Add("user_id", "uuid", "must be a UUID")
		}
	}
	if q.After != "" {
		c, err := decodeCursor(q.After)
		if err != nil {
			v.Add("after", "cursor", "must be a next_cursor from this API")
		}
		f.Before = &c
	}
	if err := v.Err(); err != nil {
		return Page{}, err
	}
	if !p.IsAdmin() {
		f.UserID = p.UserID // customers see their own, whatever they ask for
	}
	f.Limit++ // one more tells whether there is a next page
	items, err := s.repo.Orders(ctx, f)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: items}
	if len(items) == f.Limit {
		page.Items = items[:f.Limit-1]
		last := page.Items[len(page.Items)-1]
		page.NextCursor = encodeCursor(Cursor{CreatedAt: last.CreatedAt(), ID: last.ID()})
	}
	return page, nil
}

func encodeCursor(c Cursor) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d|%s", c.CreatedAt.UnixMicro(), c.ID))
}

func decodeCursor(s string) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, err
	}
	var micros int64
	var id string
	ts, rest, ok := strings.Cut(string(raw), "|")
	if !ok {
		return Cursor{}, errors.New("no separator")
	}
	if _, err := fmt.Sscan(ts, &micros); err != nil {
		return Cursor{}, err
	}
	if _, err := uuid.Parse(rest); err != nil {
		return Cursor{}, err
	}
	id = rest
	return Cursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: id}, nil
}

// Cancel cancels an order the caller may see; the saga gives back its stock
// and money.
func (s *Service) Cancel(ctx context.Context, id string) (*Order, error) {
	p, err := auth.RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	reason := "cancelled by the customer"
	if p.IsAdmin() {
		reason = "cancelled by the shop"
	}
	return s.change(ctx, p, id, func(o *Order) ([]Fact, error) {
		changed, err := o.Cancel(reason, s.now())
		if err != nil || !changed {
			return nil, err
		}
		return []Fact{{Kind: FactCancelled, Order: o, At: o.UpdatedAt()}}, nil
	})
}

// Ship marks a confirmed order shipped (admins only).
func (s *Service) Ship(ctx context.Context, id string) (*Order, error) {
	p, err := auth.RequireRole(ctx, auth.RoleAdmin)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, p, id, func(o *Order) ([]Fact, error) {
		changed, err := o.Ship(s.now())
		if err != nil || !changed {
			return nil, err
		}
		return []Fact{{Kind: FactShipped, Order: o, At: o.UpdatedAt()}}, nil
	})
}

// change applies fn to the locked order and stores what it did.
func (s *Service) change(ctx context.Context, p auth.Principal, id string, fn func(*Order) ([]Fact, error)) (*Order, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errs.E(errs.KindNotFound, "order not found")
	}
	// Visibility first, without a lock: nobody may hold another customer's
	// order row locked by guessing its id.
	o, err := s.repo.Order(ctx, id, false)
	if err != nil {
		return nil, err
	}
	if err := visible(p, o); err != nil {
		return nil, err
	}
	var out *Order
	err = s.tx(ctx, func(r Repository) error {
		o, err := r.Order(ctx, id, true)
		if err != nil {
			return err
		}
		facts, err := fn(o)
		if err != nil {
			return err
		}
		out = o
		if len(facts) == 0 {
			return nil
		}
		if err := r.Save(ctx, o); err != nil {
			return err
		}
		return r.Publish(ctx, facts...)
	})
	return out, err
}
