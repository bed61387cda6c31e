package lameduck

import (
	"errors"
	"fmt"
	"time"
)

// ErrHandoff is wrapped by the cause of a shutdown started by Handoff.
var ErrHandoff = errors.New("lameduck: listeners handed off to a new process")

// handoffCause is the cause of a shutdown started by Handoff: it carries
// the drain delay the handoff asked for.
type handoffCause struct {
	drain time.Duration
	cause error
}

func (h *handoffCause) Error() string {
	if h.cause == nil {
		return ErrHandoff.Error()
	}
	return fmt.Sprintf("%v: %v", ErrHandoff, h.cause)
}

func (h *handoffCause) Unwrap() []error { return []error{ErrHandoff, h.cause} }

// Handoff starts the shutdown of a process whose listening sockets a
// successor process now serves too (an in-place upgrade: see the upgrade
// subpackage). It goes through the same phases as a stop signal, with one
// difference: Draining lasts drain instead of the configured drain delay,
// usually zero, because no load balancer has to learn anything: the
// sockets stay open in the successor and the kernel hands new connections
// to whichever process accepts them. A positive drain keeps this process
// accepting for that long while its responses carry "Connection: close",
// so keep-alive clients move to the successor between requests rather
// than having an idle connection closed under them. cause (may be nil)
// is logged; the cause of the shutdown wraps ErrHandoff.
func (a *App) Handoff(drain time.Duration, cause error) {
	a.request(request{src: byCall, cause: &handoffCause{drain: max(drain, 0), cause: cause}})
}

// drainFor returns how long Draining lasts for shutdown request r with
// budget b.
func drainFor(r request, b Budget) time.Duration {
	var h *handoffCause
	if errors.As(r.cause, &h) {
		return min(h.drain, b.DrainDelay+b.Stop)
	}
	return b.DrainDelay
}

// ShutdownCause returns the cause of the shutdown once one was requested
// (a signal, Shutdown, Fatal, /drain, Handoff), and nil before.
func (a *App) ShutdownCause() error {
	select {
	case <-a.requested:
		return a.req.cause
	default:
		return nil
	}
}

// ShutdownBudget returns the budget of the shutdown under way and the
// time from which the process expects to be killed (the end of the grace
// period: the request plus GracePeriod, less PreStop when a signal started
// it). ok is false until Draining has been entered, and when Run failed on
// its configuration. Service managers use it to extend their own stop
// timeout to the budget (systemd's EXTEND_TIMEOUT_USEC: package systemd).
func (a *App) ShutdownBudget() (b Budget, killAt time.Time, ok bool) {
	select {
	case <-a.ph.entered[Draining]:
	default:
		return Budget{}, time.Time{}, false
	}
	if a.cfg.GracePeriod == 0 { // Run stopped on its configuration
		return Budget{}, time.Time{}, false
	}
	b = budgetFor(a.cfg, a.req)
	return b, a.req.at.Add(b.Total + a.cfg.KillMargin), true
}

// budgetFor is the budget, under cfg, of the shutdown started by r.
func budgetFor(cfg Options, r request) Budget {
	if r.src == byDrain {
		// The grace period started with the preStop hook that called /drain.
		return cfg.budget(cfg.GracePeriod - cfg.KillMargin)
	}
	return cfg.Budget()
}
