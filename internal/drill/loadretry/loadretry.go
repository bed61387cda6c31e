// Package loadretry is the retry policy of the drill's load (--retry), the
// same in the local drill and in the load pod of --kube: the retry
// package's Transport, bounded by a time budget (the request timeout)
// rather than by a count, so that the retries of a request outlast a
// replica's restart, readiness and endpoint propagation when the budget
// does.
package loadretry

import (
	"errors"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/lameduck-dev/lameduck/retry"
)

// The policy's shape: full jitter, waits capped at MaxBackoff, so about
// two attempts a second while nothing answers. MaxAttempts is only a
// safety cap: within any budget the drill allows (minutes) the time budget
// ends the retries first.
const (
	MaxAttempts = 1000
	BaseBackoff = 100 * time.Millisecond
	MaxBackoff  = time.Second
)

// ConnectTimeout is the load's dial timeout when it retries. A dial whose
// SYNs go unanswered that long is abandoned and retried as a new dial,
// which kube-proxy routes by its current rules, instead of waiting out the
// kernel's SYN retransmissions (after 1 s, 3 s, 7 s) within the request's
// budget: while a Service has no ready endpoint, kube-proxy REJECTs new
// connections, but the kernel sends those ICMP answers at most once a
// second per client after a burst of six, so most dials get no answer at
// all (measured on the cluster of scripts/kube: docs/retries.md).
const ConnectTimeout = time.Second

// DialTimeout is the load's dial timeout: ConnectTimeout (at most the
// budget) when it retries, the whole budget when it does not.
func DialTimeout(retrying bool, budget time.Duration) time.Duration {
	if retrying {
		return min(ConnectTimeout, budget)
	}
	return budget
}

// DefaultBudget is the request timeout of a drill with --retry when
// --timeout is not given: the whole request's budget, retries included,
// long enough to outlast a SIGKILLed replica's restart and readiness on a
// loaded machine (measured on the single-node cluster of scripts/kube: up
// to 5 s without a ready endpoint after a node kill).
const DefaultBudget = 15 * time.Second

// Options returns the policy for requests of the given budget (the
// request timeout, which is also their context deadline), reporting every
// retryable failure to obs (may be nil).
func Options(budget time.Duration, obs func(retry.Event)) retry.Options {
	return retry.Options{
		MaxAttempts: MaxAttempts,
		BaseBackoff: BaseBackoff,
		MaxBackoff:  MaxBackoff,
		MaxElapsed:  budget,
		Observer:    obs,
	}
}

// GaveUp names why the Transport stopped retrying (retry.Event.GiveUp):
// trace.GaveUpBudget, trace.GaveUpAttempts, trace.GaveUpRetryAfter, or
// trace.GaveUpOther; "" for nil.
func GaveUp(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, retry.ErrBudgetExhausted):
		return trace.GaveUpBudget
	case errors.Is(err, retry.ErrAttemptsExhausted):
		return trace.GaveUpAttempts
	case errors.Is(err, retry.ErrRetryAfterTooLong):
		return trace.GaveUpRetryAfter
	}
	return trace.GaveUpOther
}
