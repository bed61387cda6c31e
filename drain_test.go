package lameduck

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
)

// discardLogger is for in-package tests that want no log output.
var discardLogger = slog.New(slog.DiscardHandler)

// The adaptive drain delay ends after DrainQuiet without requests, not
// before DrainMin, and never after DrainDelay.
func TestAdaptiveDrainDelay(t *testing.T) {
	for _, tc := range []struct {
		name            string
		max, quiet, min time.Duration
		arrivals        []time.Duration // request arrivals after the drain began
		want            time.Duration
	}{
		{name: "fixed", max: 5 * time.Second, want: 5 * time.Second},
		{name: "quiet at once", max: 5 * time.Second, quiet: 200 * time.Millisecond, want: 200 * time.Millisecond},
		{name: "minimum holds", max: 5 * time.Second, quiet: 200 * time.Millisecond, min: time.Second, want: time.Second},
		{name: "traffic extends", max: 5 * time.Second, quiet: 500 * time.Millisecond,
			arrivals: []time.Duration{100 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}, want: 1300 * time.Millisecond},
		{name: "maximum caps", max: time.Second, quiet: 500 * time.Millisecond,
			arrivals: []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond}, want: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := New(Options{Logger: discardLogger})
				a.cfg.DrainQuiet, a.cfg.DrainMin = tc.quiet, tc.min
				start := time.Now()
				for _, at := range tc.arrivals {
					go func() {
						time.Sleep(at)
						a.track.lastArrival.Store(time.Now().UnixNano()) // what the middleware does while draining
					}()
				}
				a.drainDelay(tc.max)
				if got := time.Since(start); got != tc.want {
					t.Errorf("drain lasted %v, want %v", got, tc.want)
				}
			})
		})
	}
}

// Phases advance only forward and every skipped phase's channel closes.
func TestPhasesAdvance(t *testing.T) {
	p := newPhases(time.Now())
	if _, _, ok := p.advance(Stopping, time.Now()); !ok {
		t.Fatal("advance to Stopping failed")
	}
	for _, q := range []Phase{Starting, Serving, Draining, Stopping} {
		select {
		case <-p.entered[q]:
		default:
			t.Errorf("%v not signalled after advancing to Stopping", q)
		}
	}
	select {
	case <-p.entered[Flushing]:
		t.Error("Flushing signalled too early")
	default:
	}
	if _, _, ok := p.advance(Serving, time.Now()); ok || p.current() != Stopping {
		t.Errorf("moved backwards to %v", p.current())
	}
	// Whoever wakes on a phase's channel sees that phase (or a later one).
	seen := make(chan Phase)
	go func() { <-p.entered[Flushing]; seen <- p.current() }()
	p.advance(Flushing, time.Now())
	if got := <-seen; got < Flushing {
		t.Errorf("woken by Entered(Flushing), Phase() = %v", got)
	}
	if got := Phase(42).String(); got != "Phase(42)" {
		t.Errorf("String of an unknown phase = %q", got)
	}
}
