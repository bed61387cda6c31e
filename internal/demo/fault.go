package demo

import (
	"fmt"
	"os/signal"
	"syscall"
)

// Fault is a deliberate bug the drill's tests use to prove the drill
// catches it.
type Fault string

// Faults.
const (
	FaultNone = Fault("")
	// FaultIgnoreTerm ignores SIGTERM (naive and shutdown variants): the
	// replica dies only on SIGKILL at the grace deadline.
	FaultIgnoreTerm = Fault("ignore-term")
	// Fault503 (shutdown variant) answers 503 to every request from
	// SIGTERM until it stops.
	Fault503 = Fault("503-terminating")
	// FaultDropDup drops the 3rd write of each process and commits the
	// 5th twice.
	FaultDropDup = Fault("drop-dup")
	// FaultExit3 (shutdown variant) exits with code 3 after a clean
	// shutdown: a deliberate non-zero exit.
	FaultExit3 = Fault("exit-3")
	// FaultNoDedupe (crashsafe variant) writes first, without
	// deduplicating by the Idempotency-Key, then does its work and
	// answers: a kill during the work leaves a write that the client's
	// retry applies a second time.
	FaultNoDedupe = Fault("no-dedupe")
)

// ParseFault checks a --fault value.
func ParseFault(s string) (Fault, error) {
	switch f := Fault(s); f {
	case FaultNone, FaultIgnoreTerm, Fault503, FaultDropDup, FaultExit3, FaultNoDedupe:
		return f, nil
	}
	return "", fmt.Errorf("unknown fault %q: want %s, %s, %s, %s or %s", s, FaultIgnoreTerm, Fault503, FaultDropDup, FaultExit3, FaultNoDedupe)
}

// apply makes the process-wide part of the fault happen.
func (f Fault) apply() {
	if f == FaultIgnoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
}
