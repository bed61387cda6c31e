package loadretry

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/lameduck-dev/lameduck/retry"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGaveUp(t *testing.T) {
	for err, want := range map[error]string{
		nil:                        "",
		retry.ErrBudgetExhausted:   trace.GaveUpBudget,
		retry.ErrAttemptsExhausted: trace.GaveUpAttempts,
		retry.ErrRetryAfterTooLong: trace.GaveUpRetryAfter,
		fmt.Errorf("x: %w", retry.ErrBudgetExhausted): trace.GaveUpBudget,
		fmt.Errorf("lameduck/retry: GetBody: boom"):   trace.GaveUpOther,
	} {
		if got := GaveUp(err); got != want {
			t.Errorf("GaveUp(%v) = %q, want %q", err, got, want)
		}
	}
}

// The policy is bounded by time: with full jitter the waits before the
// attempts cap are a sum of uniform draws; even attempts that fail at once
// spend the cap only after about 500s, ten standard deviations above 5
// minutes, far beyond any budget a drill uses (seconds).
func TestBoundedByTime(t *testing.T) {
	o := Options(time.Minute, nil)
	if o.MaxElapsed != time.Minute || o.BaseBackoff != BaseBackoff || o.MaxBackoff != MaxBackoff {
		t.Fatalf("options %+v", o)
	}
	var mean, variance float64
	for n := 1; n < o.MaxAttempts; n++ {
		c := min(MaxBackoff, BaseBackoff<<min(n-1, 20)).Seconds()
		mean += c / 2
		variance += c * c / 12
	}
	if low := mean - 10*math.Sqrt(variance); low < 300 {
		t.Errorf("%d attempts wait %.0fs on average (-10 sd: %.0fs): the cap may bind before a 5m budget", o.MaxAttempts, mean, low)
	}
	if DialTimeout(true, 5*time.Second) != ConnectTimeout || DialTimeout(true, 300*time.Millisecond) != 300*time.Millisecond || DialTimeout(false, 5*time.Second) != 5*time.Second {
		t.Error("DialTimeout: want ConnectTimeout (at most the budget) when retrying, else the budget")
	}
}
