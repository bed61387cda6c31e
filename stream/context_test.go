package stream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/stream"
)

// fakePhases is a Phases whose phases the test enters by hand.
type fakePhases struct{ ch [7]chan struct{} }

func newFakePhases() *fakePhases {
	f := &fakePhases{}
	for i := range f.ch {
		f.ch[i] = make(chan struct{})
	}
	return f
}

func (f *fakePhases) Entered(p lameduck.Phase) <-chan struct{} { return f.ch[p] }

// enter enters p and every phase before it.
func (f *fakePhases) enter(p lameduck.Phase) {
	for q := range p + 1 {
		select {
		case <-f.ch[q]:
		default:
			close(f.ch[q])
		}
	}
}

func done(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

func TestContextOpenBeforeDrainingEndsAtDraining(t *testing.T) {
	f := newFakePhases()
	f.enter(lameduck.Serving)
	ctx, cancel := stream.Context(f, context.Background())
	defer cancel()
	if ctx.Err() != nil || stream.GoingAway(ctx) {
		t.Fatal("cancelled while serving")
	}
	f.enter(lameduck.Draining)
	if !done(ctx) {
		t.Fatal("not cancelled when Draining began")
	}
	if !stream.GoingAway(ctx) || !errors.Is(context.Cause(ctx), stream.ErrGoingAway) {
		t.Fatalf("cause %v, want ErrGoingAway", context.Cause(ctx))
	}
}

func TestContextOpenWhileDrainingEndsAtStopping(t *testing.T) {
	f := newFakePhases()
	f.enter(lameduck.Draining)
	ctx, cancel := stream.Context(f, context.Background())
	defer cancel()
	select {
	case <-ctx.Done():
		t.Fatal("a stream opened while Draining was cancelled at once")
	default:
	}
	f.enter(lameduck.Stopping)
	if !done(ctx) || !stream.GoingAway(ctx) {
		t.Fatalf("not going away once Stopping began: %v", context.Cause(ctx))
	}
}

func TestContextParentAndCancelAreNotGoingAway(t *testing.T) {
	f := newFakePhases()
	parent, cancelParent := context.WithCancel(context.Background())
	ctx, cancel := stream.Context(f, parent)
	defer cancel()
	cancelParent()
	if !done(ctx) || stream.GoingAway(ctx) {
		t.Fatalf("parent cancelled: going away = %v", stream.GoingAway(ctx))
	}

	ctx2, cancel2 := stream.Context(f, context.Background())
	cancel2()
	f.enter(lameduck.Stopping)
	if !done(ctx2) || stream.GoingAway(ctx2) {
		t.Fatal("cancelled by its CancelFunc, yet going away")
	}
	if stream.GoingAway(context.Background()) {
		t.Fatal("a live context is going away")
	}
}
