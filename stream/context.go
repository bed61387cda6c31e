package stream

import (
	"context"
	"errors"

	"github.com/lameduck-dev/lameduck"
)

// ErrGoingAway is the cause of a context from Context cancelled because the
// service is shutting down: the stream should end cleanly (a WebSocket close
// frame with status 1001 Going Away, a final Server-Sent Event, an empty
// long-poll answer) so that its client reconnects to another replica.
var ErrGoingAway = errors.New("lameduck: service shutting down: reconnect to another replica")

// Phases is the part of *lameduck.App that Context needs.
type Phases interface {
	Entered(p lameduck.Phase) <-chan struct{}
}

// Context returns a copy of parent (usually r.Context()) that is also
// cancelled, with cause ErrGoingAway, when app starts shutting down: when
// Draining begins for a stream opened before it, when Stopping begins for
// a stream opened while Draining. Use GoingAway to tell this from the
// client going away or the parent ending.
//
// Call cancel when the stream ends, as with context.WithCancel: it releases
// the goroutine that waits for the phase.
func Context(app Phases, parent context.Context) (ctx context.Context, cancel context.CancelFunc) {
	end := app.Entered(lameduck.Draining)
	select {
	case <-end:
		end = app.Entered(lameduck.Stopping)
	default:
	}
	ctx, cancelCause := context.WithCancelCause(parent)
	go func() {
		select {
		case <-end:
			cancelCause(ErrGoingAway)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancelCause(context.Canceled) }
}

// GoingAway reports whether ctx was cancelled because the service is
// shutting down (its cause is ErrGoingAway), rather than because the client
// left or the request ended.
func GoingAway(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrGoingAway)
}
