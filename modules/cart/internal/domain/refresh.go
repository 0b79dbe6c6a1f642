package domain

import (
	"context"
	"errors"
	"sync"
	"time"
)

// answers is what the neighbours said about a cart's lines.
type answers struct {
	products    map[string]ProductInfo // by id; a product missing is not for sale
	productsErr error
	stock       map[string]int
	stockErr    error
}

// lookup asks the catalog about all products in one call and the
// inventory about all of them in another, both at once, and gives up on
// whichever has not answered when the deadline passes. One call per
// neighbour keeps a read one round trip long however full the cart is.
func (s *Service) lookup(ctx context.Context, ids []string) answers {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel() // calls still running after the deadline are told to stop
	var out answers
	var wg sync.WaitGroup
	wg.Go(func() {
		out.stock, out.stockErr = ask(ctx, func(ctx context.Context) (map[string]int, error) {
			return s.stock.Available(ctx, ids)
		})
	})
	out.products, out.productsErr = ask(ctx, func(ctx context.Context) (map[string]ProductInfo, error) {
		return s.prices.Products(ctx, ids)
	})
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
		switch p, found := a.products[old.productID]; {
		case a.productsErr != nil:
			l.stale = true
		case found:
			l.sku, l.name = p.SKU, p.Name
			l.price = Money{amount: p.PriceMinor, currency: p.Currency}
		default:
			l.unavailable = true
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
	return errors.Join(a.productsErr, a.stockErr)
}
