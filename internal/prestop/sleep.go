package prestop

import (
	"context"
	"time"
)

// Logf receives one line of log per call, without a trailing newline.
type Logf func(format string, args ...any)

// Sleep waits for d, or until ctx is done (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration, logf Logf) error {
	logf("sleep: waiting %v before the stop signal", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		logf("sleep: done after %v", d)
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
