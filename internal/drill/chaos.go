package drill

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/backend"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// DefaultChaosWindow is how long the chaos window lasts when
// --chaos-window is not given. It opens at the first rollout's trigger.
const DefaultChaosWindow = 5 * time.Second

// ChaosSpec is --chaos: replicas SIGKILLed at random moments (seeded by
// Config.Seed), either a count of kills or a rate, drawn over Window,
// which opens as the first rollout starts: the kills hit while the
// rollouts run, as an OOM kill or a lost node would.
type ChaosSpec struct {
	// Kills is the number of kills (moments drawn uniformly over the
	// window); Rate, when Kills is 0, the mean kills per second (a
	// Poisson process over the window). Both 0: no chaos.
	Kills int
	Rate  float64
	// Scope is trace.ChaosReplica (one replica per kill) or
	// trace.ChaosNode (every replica of one node group at once).
	Scope string
	// Window is the length of the chaos window, from the first
	// rollout's trigger (0: DefaultChaosWindow).
	Window time.Duration
}

// Enabled reports whether the spec kills anything.
func (c ChaosSpec) Enabled() bool { return c.Kills > 0 || c.Rate > 0 }

// String is the spec in words.
func (c ChaosSpec) String() string {
	what := "replica"
	if c.Scope == trace.ChaosNode {
		what = "node"
	}
	if c.Kills > 0 {
		return fmt.Sprintf("%d %s kills over %v", c.Kills, what, c.window())
	}
	return fmt.Sprintf("%g %s kills/s over %v", c.Rate, what, c.window())
}

func (c ChaosSpec) window() time.Duration {
	if c.Window <= 0 {
		return DefaultChaosWindow
	}
	return c.Window
}

// ParseChaos parses a --chaos value: a count of kills ("3") or a rate
// ("0.5/s"), and the scope ("replica" or "node").
func ParseChaos(s, scope string, window time.Duration) (ChaosSpec, error) {
	c := ChaosSpec{Scope: scope, Window: window}
	switch scope {
	case trace.ChaosReplica, trace.ChaosNode:
	default:
		return c, fmt.Errorf("chaos scope %q: want %s or %s", scope, trace.ChaosReplica, trace.ChaosNode)
	}
	if window < 0 {
		return c, fmt.Errorf("chaos window %v: want a duration >= 0", window)
	}
	if r, ok := strings.CutSuffix(s, "/s"); ok {
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || math.IsNaN(v) || v <= 0 || v > 100 {
			return c, fmt.Errorf("chaos %q: want a rate in (0, 100] kills per second, like 0.5/s", s)
		}
		c.Rate = v
		return c, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return c, fmt.Errorf("chaos %q: want a count of kills in [1, 1000] (like 3) or a rate like 0.5/s", s)
	}
	c.Kills = n
	return c, nil
}

// moments draws the kill moments, offsets into the window, with rng.
func (c ChaosSpec) moments(rng *rand.Rand) []time.Duration {
	w := c.window()
	var out []time.Duration
	if c.Kills > 0 {
		for range c.Kills {
			out = append(out, time.Duration(rng.Int64N(int64(w))))
		}
		slices.Sort(out)
		return out
	}
	for t := time.Duration(0); ; {
		t += time.Duration(rng.ExpFloat64() / c.Rate * float64(time.Second))
		if t >= w {
			return out
		}
		out = append(out, t)
	}
}

// runChaos kills at the drawn moments, offsets from start (the first
// rollout's trigger: the kills happen while the rollouts run, see
// rolloutsAndChaos), lets the backend replace the killed replicas, and
// returns once the window is over and every replacement is available,
// exited or deleted by a rollout (bounded by StartTimeout).
//
// Each kill holds r.ctrl from the choice of its victims until its
// replacements exist, so that a rollout's reconcile step never sees a
// killed replica without its ReplicaSet replacement (see rollout).
func (r *runner) runChaos(ctx context.Context, start time.Duration) error {
	spec := r.cfg.Chaos
	ch, ok := r.be.(backend.Chaos)
	if !ok {
		return fmt.Errorf("the %s backend cannot kill replicas (--chaos)", r.be.Name())
	}
	// Its own stream, so that the kills do not shift the lag draws.
	rng := ChaosRand(r.cfg.Seed)
	ct := &trace.Chaos{Spec: spec.String(), Scope: spec.Scope, WindowStart: start, WindowEnd: start + spec.window()}
	r.mu.Lock()
	r.chaos = ct
	r.mu.Unlock()
	var replacements []string
	for i, at := range spec.moments(rng) {
		if err := sleepCtx(ctx, start+at-r.since()); err != nil {
			return err
		}
		repl, err := r.kill(ctx, ch, rng, i+1)
		replacements = append(replacements, repl...)
		if err != nil {
			return fmt.Errorf("chaos kill %d: %w", i+1, err)
		}
	}
	if err := sleepCtx(ctx, ct.WindowEnd-r.since()); err != nil {
		return err
	}
	r.setPhase("chaos: waiting for the replacements")
	deadline := time.Now().Add(r.cfg.StartTimeout)
	for _, name := range replacements {
		for {
			s, _ := r.state(name)
			// An old-revision replacement the rollout deleted, or a
			// replacement killed in turn, is not waited for.
			if s.Available || s.Exited || s.Terminating {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("chaos: replacement %s not available after %v", name, r.cfg.StartTimeout)
			}
			if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
				return err
			}
		}
	}
	return nil
}

// kill is kill n: it picks the victims, SIGKILLs them and records the
// kill with its replacements, all under r.ctrl.
func (r *runner) kill(ctx context.Context, ch backend.Chaos, rng *rand.Rand, n int) ([]string, error) {
	spec := r.cfg.Chaos
	r.ctrl.Lock()
	defer r.ctrl.Unlock()
	victims, node := r.victims(ch, rng)
	if len(victims) == 0 {
		r.event(trace.EventChaos, "", fmt.Sprintf("kill %d: no running replica to kill", n))
		return nil, nil
	}
	k := trace.Kill{At: r.since(), Scope: spec.Scope, Node: node, Replicas: victims}
	r.setPhase(fmt.Sprintf("chaos: kill %d, %s", n, strings.Join(victims, " ")))
	r.event(trace.EventChaos, strings.Join(victims, ","), fmt.Sprintf("kill %d: SIGKILL (%s on node %d)", n, spec.Scope, node))
	for _, v := range victims {
		r.killed[v] = true
	}
	repl, err := ch.Kill(ctx, victims)
	k.Replacements = repl
	r.mu.Lock()
	r.chaos.Kills = append(r.chaos.Kills, k)
	r.mu.Unlock()
	return repl, err
}

// victims picks what one kill takes (backend.Victims) among the replicas
// that run and are not being deleted, in start order, and returns the
// node group of the pick.
func (r *runner) victims(ch backend.Chaos, rng *rand.Rand) ([]string, int) {
	var live []backend.State
	for _, s := range r.be.Replicas() {
		if !s.Exited && !s.Terminating {
			live = append(live, s)
		}
	}
	picked := backend.Victims(live, func(s backend.State) bool { return s.Ready },
		func(s backend.State) int { return ch.NodeOf(s.Name) }, r.cfg.Chaos.Scope, rng)
	if len(picked) == 0 {
		return nil, -1
	}
	names := make([]string, len(picked))
	for i, s := range picked {
		names[i] = s.Name
	}
	return names, ch.NodeOf(names[0])
}

// chaosErrors checks the --chaos and --retry settings.
func (c *Config) chaosErrors() []error {
	var errs []error
	if c.Chaos.Enabled() && c.Chaos.Scope != "" && c.Chaos.Scope != trace.ChaosReplica && c.Chaos.Scope != trace.ChaosNode {
		errs = append(errs, fmt.Errorf("chaos scope %q: want %s or %s", c.Chaos.Scope, trace.ChaosReplica, trace.ChaosNode))
	}
	if c.Chaos.Kills < 0 || c.Chaos.Rate < 0 || c.Chaos.Window < 0 {
		errs = append(errs, fmt.Errorf("chaos: kills, rate and window must not be negative"))
	}
	if c.Retry && c.Protocol == ProtocolGRPC {
		errs = append(errs, fmt.Errorf("retry is for --protocol http (gRPC has --grpc-retry)"))
	}
	return errs
}
