// Package drill runs the rolling-update experiment on one machine: replicas
// of a command behind a kube-proxy-like balancer, constant-rate load, one or
// more rolling updates with the kubelet's termination sequence, and a
// verification of acknowledged writes against a Redis-protocol store.
//
// See docs/drill.md for the user manual, the report and the JSON schema.
package drill

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/balancer"
	"github.com/lameduck-dev/lameduck/internal/drill/pod"
	"github.com/lameduck-dev/lameduck/internal/drill/rollout"
	"github.com/lameduck-dev/lameduck/internal/freeport"
)

// SetupError is a usage or setup problem (command not found, store
// unreachable, replicas that never start): the drill could not run.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

func setupErr(format string, args ...any) error {
	return &SetupError{Err: fmt.Errorf(format, args...)}
}

// Step is one action of the rollout controller.
type Step struct {
	At      time.Duration `json:"at"`
	Rollout int           `json:"rollout"`
	Index   int           `json:"step"`
	Action  string        `json:"action"` // "create" or "delete"
	Replica string        `json:"replica"`
}

type runner struct {
	cfg   Config
	epoch time.Time
	bal   *balancer.Balancer
	st    *store

	rngMu sync.Mutex
	rng   *rand.Rand
	noLag bool

	mu       sync.Mutex
	pods     []*pod.Pod // every pod ever started, in start order
	events   []Event
	steps    []Step
	rollouts []RolloutReport
	nextName int
	phase    string
	load     *load
}

func (r *runner) since() time.Duration { return time.Since(r.epoch) }

func (r *runner) event(kind, replica, detail string) {
	r.mu.Lock()
	r.events = append(r.events, Event{At: r.since(), Replica: replica, Kind: kind, Detail: detail})
	r.mu.Unlock()
}

func (r *runner) setPhase(s string) {
	r.mu.Lock()
	r.phase = s
	r.mu.Unlock()
}

// lag draws the propagation lag of one change on one node.
func (r *runner) lag(int) time.Duration {
	r.rngMu.Lock()
	defer r.rngMu.Unlock()
	if r.noLag {
		return 0
	}
	p := r.cfg.Profile
	if p.Max <= p.Min {
		return p.Min
	}
	return p.Min + time.Duration(r.rng.Int64N(int64(p.Max-p.Min)+1))
}

// env builds a replica's environment: the drill's own, then what the drill
// provides, then the user's --env values (which win).
func (r *runner) env(port, admin int) []string {
	env := os.Environ()
	has := func(k string) bool {
		if _, ok := os.LookupEnv(k); ok {
			return true
		}
		for _, kv := range r.cfg.Env {
			if strings.HasPrefix(kv, k+"=") {
				return true
			}
		}
		return false
	}
	env = append(env,
		"PORT="+strconv.Itoa(port),
		"ADMIN_PORT="+strconv.Itoa(admin),
		"LAMEDUCK_ADMIN_ADDR=127.0.0.1:"+strconv.Itoa(admin),
		"REDIS_ADDR="+r.st.Addr,
	)
	// Tell a lameduck service the budget of the emulated pod, as its
	// manifest would.
	if !has("LAMEDUCK_GRACE_PERIOD") {
		env = append(env, "LAMEDUCK_GRACE_PERIOD="+r.cfg.Grace.String())
	}
	if !has("LAMEDUCK_PRESTOP") && r.cfg.PreStopSleep > 0 {
		env = append(env, "LAMEDUCK_PRESTOP="+r.cfg.PreStopSleep.String())
	}
	return append(env, r.cfg.Env...)
}

func endpointOf(p *pod.Pod) balancer.Endpoint {
	ready, _, serving, terminating, exited := p.State()
	return balancer.Endpoint{
		ID:          p.Name(),
		Addr:        p.Addr(),
		Ready:       ready && !terminating,
		Serving:     serving,
		Terminating: terminating,
		Removed:     exited,
	}
}

func (r *runner) startPod(rev int) (*pod.Pod, error) {
	port, err := freeport.Port()
	if err != nil {
		return nil, err
	}
	admin, err := freeport.Port()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.nextName++
	name := fmt.Sprintf("r%d-%d", rev, r.nextName)
	r.mu.Unlock()
	p, err := pod.Start(pod.Spec{
		Name:           name,
		Revision:       rev,
		Argv:           r.cfg.Command,
		Env:            r.env(port, admin),
		Port:           port,
		AdminPort:      admin,
		Probe:          r.cfg.Readiness,
		MinReady:       r.cfg.MinReady,
		Grace:          r.cfg.Grace,
		PreStopSleep:   r.cfg.PreStopSleep,
		PreStopCommand: r.cfg.PreStopCommand,
		StopSignal:     r.cfg.StopSignal,
		Epoch:          r.epoch,
		OnChange:       func(p *pod.Pod) { r.bal.Update(endpointOf(p)) },
		OnEvent: func(e pod.Event) {
			r.mu.Lock()
			r.events = append(r.events, Event(e))
			r.mu.Unlock()
		},
	})
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.pods = append(r.pods, p)
	r.mu.Unlock()
	return p, nil
}

func (r *runner) allPods() []*pod.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pods)
}

// killAll kills every replica that still runs (cleanup) and waits.
func (r *runner) killAll() {
	var wg sync.WaitGroup
	for _, p := range r.allPods() {
		wg.Add(1)
		go func() { defer wg.Done(); p.Kill() }()
	}
	wg.Wait()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startInitial starts the first replicas and waits until all are available.
func (r *runner) startInitial(ctx context.Context) error {
	var started []*pod.Pod
	for range r.cfg.Replicas {
		p, err := r.startPod(0)
		if err != nil {
			return setupErr("cannot start %q: %v", r.cfg.Command[0], err)
		}
		started = append(started, p)
	}
	deadline := time.After(r.cfg.StartTimeout)
	for {
		n := 0
		for _, p := range started {
			_, available, _, _, exited := p.State()
			if exited {
				lc := p.Lifecycle()
				return setupErr("replica %s exited at start-up (%s) before becoming ready; its output ends with:\n%s",
					p.Name(), exitText(lc), indent(lastLines(lc.OutputTail, 15)))
			}
			if available {
				n++
			}
		}
		if n == len(started) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			var b strings.Builder
			for _, p := range started {
				if ready, _, _, _, _ := p.State(); !ready {
					fmt.Fprintf(&b, "\n  %s: output ends with:\n%s", p.Name(), indent(lastLines(p.Output(), 8)))
				}
			}
			return setupErr("replicas not ready after %v (readiness probe %s; use --readiness tcp, /path on PORT or admin:/path on ADMIN_PORT to match the service):%s",
				r.cfg.StartTimeout, r.cfg.Readiness, b.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// rollout replaces every replica by one of revision rev, with the
// Deployment controller's arithmetic.
func (r *runner) rollout(ctx context.Context, rev int) error {
	surge, unavail, _ := rollout.Fenceposts(r.cfg.Replicas, r.cfg.MaxSurge, r.cfg.MaxUnavailable)
	rep := RolloutReport{Index: rev, Started: r.since()}
	r.event("rollout-start", "", fmt.Sprintf("rollout %d: maxSurge %d, maxUnavailable %d", rev, surge, unavail))
	step := 0
	failedStarts := 0
	lastProgress := time.Now()
	var deleted = map[*pod.Pod]bool{}
	for {
		var s = rollout.State{Replicas: r.cfg.Replicas, MaxSurge: surge, MaxUnavailable: unavail}
		var oldAvail, oldUnavail []*pod.Pod
		for _, p := range r.allPods() {
			_, available, _, terminating, exited := p.State()
			if terminating || deleted[p] {
				continue
			}
			if exited {
				if p.Revision() == rev && p.Lifecycle().Unexpected && !deleted[p] {
					deleted[p] = true
					failedStarts++
					r.event("replica-failed", p.Name(), "exited before deletion; the ReplicaSet replaces it")
					if failedStarts > 3 {
						lc := p.Lifecycle()
						return fmt.Errorf("rollout %d stalled: new replicas keep exiting (%s); last output:\n%s", rev, exitText(lc), indent(lastLines(lc.OutputTail, 10)))
					}
				}
				continue
			}
			if p.Revision() == rev {
				s.New++
				if available {
					s.NewAvailable++
				}
			} else {
				s.Old++
				if available {
					s.OldAvailable++
					oldAvail = append(oldAvail, p)
				} else {
					oldUnavail = append(oldUnavail, p)
				}
			}
		}
		if rollout.Done(s) {
			rep.Completed = r.since()
			r.mu.Lock()
			r.rollouts = append(r.rollouts, rep)
			r.mu.Unlock()
			r.event("rollout-complete", "", fmt.Sprintf("rollout %d complete", rev))
			return nil
		}
		progressed := false
		for range rollout.ScaleUp(s) {
			p, err := r.startPod(rev)
			if err != nil {
				return fmt.Errorf("rollout %d: start a replica: %w", rev, err)
			}
			step++
			r.addStep(Step{At: r.since(), Rollout: rev, Index: step, Action: "create", Replica: p.Name()})
			s.New++
			progressed = true
		}
		unhealthy, healthy := rollout.ScaleDown(s)
		victims := oldUnavail[:min(unhealthy, len(oldUnavail))]
		r.rngMu.Lock()
		r.rng.Shuffle(len(oldAvail), func(i, j int) { oldAvail[i], oldAvail[j] = oldAvail[j], oldAvail[i] })
		r.rngMu.Unlock()
		victims = append(victims, oldAvail[:min(healthy, len(oldAvail))]...)
		for _, p := range victims {
			step++
			r.addStep(Step{At: r.since(), Rollout: rev, Index: step, Action: "delete", Replica: p.Name()})
			deleted[p] = true
			p.Terminate()
			progressed = true
		}
		if progressed {
			lastProgress = time.Now()
		} else if time.Since(lastProgress) > r.cfg.StartTimeout {
			return fmt.Errorf("rollout %d stalled for %v: new replicas do not become available (readiness probe %s)", rev, r.cfg.StartTimeout, r.cfg.Readiness)
		}
		r.setPhase(fmt.Sprintf("rollout %d/%d: %d/%d new available, %d old", rev, r.cfg.Rollouts, s.NewAvailable, r.cfg.Replicas, s.Old))
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

func (r *runner) addStep(s Step) {
	r.mu.Lock()
	r.steps = append(r.steps, s)
	r.mu.Unlock()
	r.event("rollout-"+s.Action, s.Replica, fmt.Sprintf("rollout %d step %d", s.Rollout, s.Index))
}

// waitTerminated waits until every deleted replica has exited.
func (r *runner) waitTerminated(ctx context.Context) error {
	for _, p := range r.allPods() {
		if _, _, _, terminating, _ := p.State(); !terminating {
			continue
		}
		select {
		case <-p.Done():
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.cfg.Grace + 5*time.Second):
			return fmt.Errorf("replica %s still runs %v after its deletion", p.Name(), r.cfg.Grace+5*time.Second)
		}
	}
	return nil
}

// Run runs one drill. It returns a *SetupError when the drill could not run
// (exit code 2); otherwise the Result says whether anything failed or was
// lost. Replicas, the balancer and the embedded store are always cleaned
// up before Run returns, also when ctx is cancelled.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, &SetupError{Err: err}
	}
	if _, err := exec.LookPath(cfg.Command[0]); err != nil {
		return nil, setupErr("command not found: %q (%v); give a path or a program on PATH after --", cfg.Command[0], err)
	}
	r := &runner{cfg: cfg, epoch: time.Now(), rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5deece66d)), phase: "starting"}
	st, err := openStore(ctx, cfg.RedisAddr)
	if err != nil {
		return nil, &SetupError{Err: err}
	}
	defer st.close()
	r.st = st
	var before int64
	if cfg.ExpectCounter != "" {
		if before, err = st.get(ctx, cfg.ExpectCounter); err != nil {
			return nil, &SetupError{Err: err}
		}
	}
	bal, err := balancer.New(balancer.Options{Nodes: cfg.Nodes, Lag: r.lag, Seed: cfg.Seed})
	if err != nil {
		return nil, &SetupError{Err: err}
	}
	defer bal.Close()
	r.bal = bal
	defer r.killAll()

	stopProgress := r.progress()
	defer stopProgress()

	// The Service existed before the drill: the first endpoints are
	// known to every node at once.
	r.noLag = true
	if err := r.startInitial(ctx); err != nil {
		return nil, err
	}
	for _, p := range r.allPods() {
		bal.Update(endpointOf(p))
	}
	if err := waitViews(ctx, bal, cfg.Nodes, cfg.Replicas); err != nil {
		return nil, err
	}
	r.rngMu.Lock()
	r.noLag = false
	r.rngMu.Unlock()

	r.setPhase("warm-up")
	var ld *load
	if cfg.Protocol == ProtocolGRPC {
		r.event("load-start", "", fmt.Sprintf("%d RPC/s gRPC %s", cfg.Rate, cfg.Path))
		ld, err = startGRPCLoad(loadSpec{
			URL: bal.Addr(), Path: cfg.Path, GRPCRetry: cfg.GRPCRetry, Rate: cfg.Rate, Timeout: cfg.Timeout, Workers: cfg.Workers,
			Clients: cfg.Clients, RunID: fmt.Sprintf("drill%d", cfg.Seed),
		})
		if err != nil {
			return nil, &SetupError{Err: err}
		}
	} else {
		r.event("load-start", "", fmt.Sprintf("%d req/s %s %s", cfg.Rate, cfg.Method, cfg.Path))
		ld = startLoad(loadSpec{
			URL: "http://" + bal.Addr() + cfg.Path, Method: cfg.Method, Body: cfg.Body, Header: cfg.Header,
			Rate: cfg.Rate, Timeout: cfg.Timeout, Workers: cfg.Workers, Clients: cfg.Clients, RunID: fmt.Sprintf("drill%d", cfg.Seed),
		})
	}
	r.mu.Lock()
	r.load = ld
	r.mu.Unlock()
	loadStart := r.since()

	var runErr error
	if err := sleepCtx(ctx, cfg.Warmup); err != nil {
		runErr = err
	}
	for rev := 1; rev <= cfg.Rollouts && runErr == nil; rev++ {
		runErr = r.rollout(ctx, rev)
	}
	if runErr == nil {
		r.setPhase("waiting for deleted replicas to exit")
		runErr = r.waitTerminated(ctx)
	}
	if runErr == nil {
		r.setPhase("tail")
		tail := cfg.Tail
		if end := loadStart + cfg.Duration; r.since()+tail < end {
			tail = end - r.since()
		}
		runErr = sleepCtx(ctx, tail)
	}
	r.setPhase("stopping the load")
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.Timeout+2*time.Second)
	reqs := ld.stop(stopCtx)
	cancel()
	loadEnd := r.since()
	r.event("load-stop", "", "")
	if errors.Is(runErr, context.Canceled) || ctx.Err() != nil {
		return nil, fmt.Errorf("drill interrupted: %w", ctx.Err())
	}

	var ver *Verification
	if cfg.ExpectCounter != "" {
		r.setPhase("verifying")
		ver, err = r.verify(ctx, cfg.ExpectCounter, before, countOK(reqs))
		if err != nil {
			return nil, &SetupError{Err: err}
		}
	}
	stopProgress()
	r.killAll()
	bal.Close()
	res := r.analyze(reqs, loadStart, loadEnd, ver, runErr)
	return res, nil
}

// waitViews waits until every node sees n endpoints.
func waitViews(ctx context.Context, bal *balancer.Balancer, nodes, n int) error {
	deadline := time.After(10 * time.Second)
	for i := 0; i < nodes; i++ {
		for len(bal.View(i)) < n {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-deadline:
				return errors.New("balancer views never filled")
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}

func countOK(reqs []request) int64 {
	var n int64
	for _, q := range reqs {
		if q.Err == "" && q.Code >= 200 && q.Code < 300 {
			n++
		}
	}
	return n
}

// verify waits until the counter reaches the acknowledged count, or stops
// changing for Settle, and compares.
func (r *runner) verify(ctx context.Context, key string, before, acked int64) (*Verification, error) {
	last, err := r.st.get(ctx, key)
	if err != nil {
		return nil, err
	}
	stable := time.Now()
	deadline := time.Now().Add(r.cfg.Settle + r.cfg.Grace)
	for last-before != acked && time.Since(stable) < r.cfg.Settle && time.Now().Before(deadline) {
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return nil, err
		}
		v, err := r.st.get(ctx, key)
		if err != nil {
			return nil, err
		}
		if v != last {
			last, stable = v, time.Now()
		}
	}
	v := &Verification{Key: key, Store: r.st.Addr, Embedded: r.st.Embedded, Before: before, After: last, Counted: last - before, Acked: acked}
	if v.Acked > v.Counted {
		v.Lost = v.Acked - v.Counted
	} else {
		v.Duplicated = v.Counted - v.Acked
	}
	return v, nil
}

func exitText(lc pod.Lifecycle) string {
	if lc.ExitSignal != "" {
		return "killed by " + lc.ExitSignal
	}
	return "exit code " + strconv.Itoa(lc.ExitCode)
}

func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "(no output)"
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
