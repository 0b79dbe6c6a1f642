package domain

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/shopmonolith/shop/platform/errs"
)

// maxConcurrentLookups bounds the catalog calls one cart read makes at
// once: enough to price a full cart in a few round trips of a remote
// catalog, few enough that one reader cannot flood it.
const maxConcurrentLookups = 8

// productAnswer is the catalog's answer about one line.
type productAnswer struct {
	info ProductInfo
	err  error
}

// answers is what the neighbours said about a cart's lines, in line order.
type answers struct {
	products []productAnswer
	stock    map[string]int
	stockErr error
}

// lookup asks the catalog about every product (boundedly concurrently) and
// the inventory about all of them at once, and gives up on whatever has not
// answered when the deadline passes.
func (s *Service) lookup(ctx context.Context, ids []string) answers {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel() // calls still running after the deadline are told to stop
	out := answers{products: make([]productAnswer, len(ids))}
	sem := make(chan struct{}, maxConcurrentLookups)
	var wg sync.WaitGroup
	wg.Go(func() {
		out.stock, out.stockErr = ask(ctx, func(ctx context.Context) (map[string]int, error) {
			return s.stock.Available(ctx, ids)
		})
	})
	for i, id := range ids {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
			}
			if err := ctx.Err(); err != nil { // a slot freed by the deadline is not a turn
				out.products[i].err = err
				return
			}
			out.products[i].info, out.products[i].err = ask(ctx, func(ctx context.Context) (ProductInfo, error) {
				return s.prices.Product(ctx, id)
			})
		})
	}
	wg.Wait() // bounded by the deadline: ask returns when ctx ends
	return out
}

// ask runs call in a goroutine of its own and waits for its answer until
// ctx ends, so that a neighbour ignoring its context cannot hold the cart
// past the deadline. The abandoned call finishes on its own; its answer
// goes to a buffered channel nobody reads.
func ask[T any](ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	type answer struct {
		v   T
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		v, err := call(ctx)
		ch <- answer{v, err}
	}()
	select {
	case a := <-ch:
		return a.v, a.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// refreshed applies the neighbours' answers to the cart's stored lines. A
// line takes every fresh value there is; what could not be asked keeps its
// last known value and marks the line (and the cart) stale. A product the
// catalog no longer shows is unavailable, and so is one now priced in
// another currency than the cart. It also returns the lines whose values
// changed, to be remembered.
func (c Cart) refreshed(a answers, now time.Time) (Cart, []Line) {
	now = now.UTC().Truncate(time.Microsecond)
	out := c
	out.lines = make([]Line, len(c.lines))
	var changed []Line
	for i, old := range c.lines {
		l := old
		switch p := a.products[i]; {
		case p.err == nil:
			l.sku, l.name = p.info.SKU, p.info.Name
			l.price = Money{amount: p.info.PriceMinor, currency: p.info.Currency}
		case errs.Is(p.err, errs.KindNotFound):
			l.unavailable = true
		default:
			l.stale = true
		}
		if a.stockErr == nil {
			l.available = max(0, a.stock[l.productID]) // the store refuses negatives
		} else {
			l.stale = true
		}
		if l.price.currency != c.currency {
			l.unavailable = true
		}
		if !l.sameValues(old) {
			l.refreshedAt = now
			changed = append(changed, l)
		}
		out.stale = out.stale || l.stale
		out.lines[i] = l
	}
	return out, changed
}

// failures joins what kept the answers from being complete, for the log.
func (a answers) failures() error {
	var failed []error
	for _, p := range a.products {
		if p.err != nil && !errs.Is(p.err, errs.KindNotFound) {
			failed = append(failed, p.err)
			break // one catalog error tells the story; all lines are stale alike
		}
	}
	if a.stockErr != nil {
		failed = append(failed, a.stockErr)
	}
	return errors.Join(failed...)
}
