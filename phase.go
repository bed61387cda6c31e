package lameduck

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Phase is a step of an App's life. Phases only move forward, in the order
// declared here; a phase may be passed through without doing any work (a
// shutdown that starts while Starting skips the drain delay, for example).
type Phase int32

const (
	// Starting: components start; /readyz fails.
	Starting Phase = iota
	// Serving: normal work; /readyz and /livez answer 200.
	Serving
	// Draining is the lame-duck period: /readyz answers 503, listeners still
	// accept and serve, and every response carries "Connection: close" so
	// keep-alive clients reconnect elsewhere. It lasts the drain delay.
	Draining
	// Stopping: listeners and idle connections are closed, new requests on
	// open connections are refused with 503, in-flight requests and tracked
	// background work run to completion within the phase's budget.
	Stopping
	// Flushing: flush hooks run (last metrics, logs, traces).
	Flushing
	// Closing: closers run in reverse order of registration.
	Closing
	// Stopped: Run is about to return its exit code.
	Stopped

	numPhases = int(Stopped) + 1
)

var phaseNames = [numPhases]string{"Starting", "Serving", "Draining", "Stopping", "Flushing", "Closing", "Stopped"}

// String returns the phase's name, for example "Draining".
func (p Phase) String() string {
	if p >= 0 && int(p) < numPhases {
		return phaseNames[p]
	}
	return fmt.Sprintf("Phase(%d)", int32(p))
}

// Phases lists every phase in order.
func Phases() []Phase {
	ps := make([]Phase, numPhases)
	for i := range ps {
		ps[i] = Phase(i)
	}
	return ps
}

// phases holds the current phase and one once-closed channel per phase,
// closed when that phase is entered (k8s lifecycleSignals style).
type phases struct {
	cur     atomic.Int32
	entered [numPhases]chan struct{}
	mu      sync.Mutex // guards at and advancing
	at      [numPhases]time.Time
}

func newPhases(now time.Time) *phases {
	p := &phases{}
	for i := range p.entered {
		p.entered[i] = make(chan struct{})
	}
	p.at[Starting] = now
	close(p.entered[Starting])
	return p
}

func (p *phases) current() Phase { return Phase(p.cur.Load()) }

// advance moves to phase next (closing the channels of every phase up to it)
// and reports the phase left and how long it lasted. It is a no-op returning
// ok=false when next is not after the current phase.
func (p *phases) advance(next Phase, now time.Time) (prev Phase, took time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev = p.current()
	if next <= prev {
		return prev, 0, false
	}
	for q := prev + 1; q <= next; q++ {
		p.at[q] = now
	}
	// Publish the phase before closing the channels: whoever wakes on
	// <-Entered(q) must see Phase() >= q.
	p.cur.Store(int32(next))
	for q := prev + 1; q <= next; q++ {
		close(p.entered[q])
	}
	return prev, now.Sub(p.at[prev]), true
}

// enteredAt returns when phase q was entered, or the zero time.
func (p *phases) enteredAt(q Phase) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at[q]
}
