package kernel_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/kernel"
)

func TestBackgroundRunsUntilStopped(t *testing.T) {
	t.Parallel()
	var b kernel.Background
	if err := b.Stop(context.Background()); err != nil {
		t.Fatalf("stopping unstarted work: %v", err)
	}
	started, stopped := make(chan struct{}), make(chan struct{})
	startCtx, cancelStart := context.WithCancel(context.Background())
	err := b.Start(startCtx, func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		close(stopped)
	})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	cancelStart() // the work outlives the start-up context
	if err := b.Start(context.Background(), func(context.Context) {}); err == nil {
		t.Error("second Start = nil, want an error")
	}
	select {
	case <-stopped:
		t.Fatal("work ended with the start-up context")
	default:
	}
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-stopped
	if err := b.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestBackgroundStopGivesUpWithItsContext(t *testing.T) {
	t.Parallel()
	var b kernel.Background
	release := make(chan struct{})
	defer close(release)
	if err := b.Start(context.Background(), func(context.Context) { <-release }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Stop(ctx); err == nil {
		t.Error("Stop of work that ignores cancellation = nil, want the deadline's error")
	}
}
