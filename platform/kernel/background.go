package kernel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Background is a module's background work, one goroutine from Start to
// Stop: what a module embeds to implement kernel.Module's Start and Stop
// when it has a worker (a sweeper, an announcer). The zero value is ready.
type Background struct {
	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
}

// Start runs run in a goroutine until Stop. The work outlives ctx, which
// only carries values (trace, logger) into it. Starting twice is an error.
func (b *Background) Start(ctx context.Context, run func(ctx context.Context)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stop != nil {
		return errors.New("background work started twice")
	}
	ctx, b.stop = context.WithCancel(context.WithoutCancel(ctx))
	b.done = make(chan struct{})
	go func() {
		defer close(b.done)
		run(ctx)
	}()
	return nil
}

// Stop cancels the work's context and waits until run returns, or until
// ctx ends. Stopping work that never started, or stopping twice, is fine.
func (b *Background) Stop(ctx context.Context) error {
	b.mu.Lock()
	stop, done := b.stop, b.done
	b.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("background work did not stop: %w", ctx.Err())
	}
}

// Every runs pass at once and then every interval until ctx ends: the loop
// of a sweeper, which first catches up with what piled up while no replica
// ran. A pass that overruns the interval delays the next one, never doubles
// up.
func Every(ctx context.Context, interval time.Duration, pass func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
