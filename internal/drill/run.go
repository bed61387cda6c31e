// Package drill runs the rolling-update experiment: replicas of a command
// made by a backend (the local emulation: processes behind a
// kube-proxy-like balancer), constant-rate load with a unique id per
// request, one or more rolling updates with the kubelet's termination
// order, and a reconciliation of acknowledged requests with the ids the
// store committed. Run records everything into one trace.Trace; the
// analysis package turns it into a verdict.
//
// See docs/drill.md for the user manual, the report and the JSON schema.
package drill

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/backend"
	"github.com/lameduck-dev/lameduck/internal/drill/ledger"
	"github.com/lameduck-dev/lameduck/internal/drill/local"
	"github.com/lameduck-dev/lameduck/internal/drill/pod"
	"github.com/lameduck-dev/lameduck/internal/drill/rollout"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// SetupError is a usage or setup problem (command not found, store
// unreachable, replicas that never start): the drill could not run.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

func setupErr(format string, args ...any) error {
	return &SetupError{Err: fmt.Errorf(format, args...)}
}

type runner struct {
	cfg   Config
	epoch time.Time
	be    backend.Backend
	st    *store
	runID string

	rngMu sync.Mutex
	rng   *rand.Rand
	noLag bool

	// ctrl serialises the rollout controller's reconcile steps and the
	// chaos kills (see rollout); killed, under ctrl, holds the replicas
	// --chaos killed.
	ctrl   sync.Mutex
	killed map[string]bool

	mu       sync.Mutex
	events   []trace.Event
	steps    []trace.Step
	rollouts []trace.Rollout
	phase    string
	load     *load
	chaos    *trace.Chaos
}

func (r *runner) since() time.Duration { return time.Since(r.epoch) }

func (r *runner) event(kind, replica, detail string) {
	r.record(trace.Event{At: r.since(), Replica: replica, Kind: kind, Detail: detail})
}

func (r *runner) record(e trace.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
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
	if r.cfg.ledger.Kind == "redis" {
		env = append(env, "LEDGER_KEY="+r.cfg.ledger.Key)
	}
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

func (r *runner) state(name string) (backend.State, bool) {
	for _, s := range r.be.Replicas() {
		if s.Name == name {
			return s, true
		}
	}
	return backend.State{}, false
}

// startInitial starts the first replicas and waits until all are available.
func (r *runner) startInitial(ctx context.Context) error {
	var started []string
	for range r.cfg.Replicas {
		name, err := r.be.Start(ctx, 0)
		if err != nil {
			return setupErr("cannot start %q: %v", r.cfg.Command[0], err)
		}
		started = append(started, name)
	}
	deadline := time.After(r.cfg.StartTimeout)
	for {
		n := 0
		for _, name := range started {
			s, _ := r.state(name)
			if s.Exited {
				return setupErr("replica %s exited at start-up (%s) before becoming ready; its output ends with:\n%s",
					s.Name, s.ExitText, indent(lastLines(s.Output, 15)))
			}
			if s.Available {
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
			for _, name := range started {
				if s, _ := r.state(name); !s.Ready {
					fmt.Fprintf(&b, "\n  %s: output ends with:\n%s", s.Name, indent(lastLines(s.Output, 8)))
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
//
// Under --chaos, kills happen while it runs, as an OOM kill or a lost
// node would. In Kubernetes the Deployment controller only sets the
// ReplicaSets' desired counts and each ReplicaSet controller replaces its
// own pods that die, so the Deployment's arithmetic counts the
// ReplicaSets' replicas and a pod killed under a rollout is replaced
// once, by its own ReplicaSet, with its own revision. Here the ReplicaSet
// replacement is backend.Chaos.Kill's, and the controller counts live
// replicas; so that it never sees the gap between a kill and its
// replacement (and starts a second replica for the same kill, or counts
// the dead one as a new replica that failed to start), each reconcile
// step holds r.ctrl, which a kill holds from the choice of its victims
// until its replacements exist (runChaos). The controller then sees a
// killed old-revision replica replaced by an old-revision one, not
// available yet, which it deletes first (cleanupUnhealthyReplicas), and
// a killed new-revision replica replaced by a new-revision one it waits
// for; replicas in r.killed are not "new replicas that keep exiting".
func (r *runner) rollout(ctx context.Context, rev int) error {
	surge, unavail, _ := rollout.Fenceposts(r.cfg.Replicas, r.cfg.MaxSurge, r.cfg.MaxUnavailable)
	c := &rolloutCtl{rev: rev, surge: surge, unavail: unavail, ro: trace.Rollout{Index: rev, Started: r.since()},
		lastProgress: time.Now(), deleted: map[string]bool{}}
	r.event(trace.EventRolloutStart, "", fmt.Sprintf("rollout %d: maxSurge %d, maxUnavailable %d", rev, surge, unavail))
	for {
		r.ctrl.Lock()
		done, err := r.reconcile(ctx, c)
		r.ctrl.Unlock()
		if done || err != nil {
			return err
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// rolloutCtl is the state of one rollout's controller.
type rolloutCtl struct {
	rev, surge, unavail int
	ro                  trace.Rollout
	step, failedStarts  int
	lastProgress        time.Time
	newAvailable        int
	deleted             map[string]bool
}

// reconcile is one step of the rollout controller (under r.ctrl): it
// reports whether the rollout is complete.
func (r *runner) reconcile(ctx context.Context, c *rolloutCtl) (bool, error) {
	rev := c.rev
	s := rollout.State{Replicas: r.cfg.Replicas, MaxSurge: c.surge, MaxUnavailable: c.unavail}
	var oldAvail, oldUnavail []string
	for _, p := range r.be.Replicas() {
		if p.Terminating || c.deleted[p.Name] {
			continue
		}
		if p.Exited {
			if p.Revision == rev && p.Unexpected && !r.killed[p.Name] {
				c.deleted[p.Name] = true
				c.failedStarts++
				r.event(trace.EventReplicaFailed, p.Name, "exited before deletion; the ReplicaSet replaces it")
				if c.failedStarts > 3 {
					return false, fmt.Errorf("rollout %d stalled: new replicas keep exiting (%s); last output:\n%s", rev, p.ExitText, indent(lastLines(p.Output, 10)))
				}
			}
			continue
		}
		if p.Revision == rev {
			s.New++
			if p.Available {
				s.NewAvailable++
			}
		} else {
			s.Old++
			if p.Available {
				s.OldAvailable++
				oldAvail = append(oldAvail, p.Name)
			} else {
				oldUnavail = append(oldUnavail, p.Name)
			}
		}
	}
	if rollout.Done(s) {
		c.ro.Completed = r.since()
		r.mu.Lock()
		r.rollouts = append(r.rollouts, c.ro)
		r.mu.Unlock()
		r.event(trace.EventRolloutComplete, "", fmt.Sprintf("rollout %d complete", rev))
		return true, nil
	}
	// Progress, as a Deployment's progress deadline sees it: the
	// controller acted, or more new replicas became available (after a
	// kill of a new one, its replacement).
	progressed := s.NewAvailable > c.newAvailable
	c.newAvailable = s.NewAvailable
	for range rollout.ScaleUp(s) {
		name, err := r.be.Start(ctx, rev)
		if err != nil {
			return false, fmt.Errorf("rollout %d: start a replica: %w", rev, err)
		}
		c.step++
		r.addStep(trace.Step{At: r.since(), Rollout: rev, Index: c.step, Action: trace.StepCreate, Replica: name})
		s.New++
		progressed = true
	}
	unhealthy, healthy := rollout.ScaleDown(s)
	victims := oldUnavail[:min(unhealthy, len(oldUnavail))]
	r.rngMu.Lock()
	r.rng.Shuffle(len(oldAvail), func(i, j int) { oldAvail[i], oldAvail[j] = oldAvail[j], oldAvail[i] })
	r.rngMu.Unlock()
	victims = append(victims, oldAvail[:min(healthy, len(oldAvail))]...)
	for _, name := range victims {
		c.step++
		r.addStep(trace.Step{At: r.since(), Rollout: rev, Index: c.step, Action: trace.StepDelete, Replica: name})
		c.deleted[name] = true
		if err := r.be.Delete(name); err != nil {
			return false, err
		}
		progressed = true
	}
	if progressed {
		c.lastProgress = time.Now()
	} else if time.Since(c.lastProgress) > r.cfg.StartTimeout {
		return false, fmt.Errorf("rollout %d stalled for %v: new replicas do not become available (readiness probe %s)", rev, r.cfg.StartTimeout, r.cfg.Readiness)
	}
	r.setPhase(fmt.Sprintf("rollout %d/%d: %d/%d new ready, %d old", rev, r.cfg.Rollouts, s.NewAvailable, r.cfg.Replicas, s.Old))
	return false, nil
}

func (r *runner) addStep(s trace.Step) {
	r.mu.Lock()
	r.steps = append(r.steps, s)
	r.mu.Unlock()
	r.event("rollout-"+s.Action, s.Replica, fmt.Sprintf("rollout %d step %d", s.Rollout, s.Index))
}

// rolloutsAndChaos runs the rollouts and, under --chaos, the kills at the
// same time: the chaos window opens at the first rollout's trigger. It
// returns once the rollouts are complete, the window is over and every
// chaos replacement is available (runChaos); the first error stops both.
func (r *runner) rolloutsAndChaos(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var chaosDone chan error
	if r.cfg.Chaos.Enabled() {
		chaosDone = make(chan error, 1)
		start := r.since()
		go func() {
			err := r.runChaos(ctx, start)
			if err != nil {
				cancel()
			}
			chaosDone <- err
		}()
	}
	var err error
	for rev := 1; rev <= r.cfg.Rollouts && err == nil; rev++ {
		err = r.rollout(ctx, rev)
	}
	if err != nil {
		cancel()
	}
	if chaosDone == nil {
		return err
	}
	if err == nil {
		r.setPhase("chaos: rollouts complete, waiting for the window to end")
	}
	cerr := <-chaosDone
	switch {
	case cerr == nil:
		return err
	case err == nil, errors.Is(err, context.Canceled) && !errors.Is(cerr, context.Canceled):
		// The chaos failed first and cancelled the rollout.
		return cerr
	}
	return err
}

// waitTerminated waits until every deleted replica has exited.
func (r *runner) waitTerminated(ctx context.Context) error {
	for _, p := range r.be.Replicas() {
		if !p.Terminating {
			continue
		}
		select {
		case <-r.be.Exited(p.Name):
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.cfg.Grace + 5*time.Second):
			return fmt.Errorf("replica %s still runs %v after its deletion", p.Name, r.cfg.Grace+5*time.Second)
		}
	}
	return nil
}

// Run runs one drill and returns its trace (analysis.Analyze turns it into
// a verdict). It returns a *SetupError when the drill could not run (exit
// code 2). Replicas, the balancer and the embedded store are always
// cleaned up before Run returns, also when ctx is cancelled.
func Run(ctx context.Context, cfg Config) (*trace.Trace, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, &SetupError{Err: err}
	}
	if _, err := exec.LookPath(cfg.Command[0]); err != nil {
		return nil, setupErr("command not found: %q (%v); give a path or a program on PATH after --", cfg.Command[0], err)
	}
	r := &runner{cfg: cfg, epoch: time.Now(), rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5deece66d)), phase: "starting",
		killed: map[string]bool{}}
	// A run id unique to this run, so that a shared store's ledger
	// holds no id of another run.
	r.runID = fmt.Sprintf("d%x", r.epoch.UnixNano()&0xffffffffff)
	st, err := openStore(ctx, cfg.RedisAddr)
	if err != nil {
		return nil, &SetupError{Err: err}
	}
	defer st.close()
	r.st = st

	var ledgerReader ledger.Reader
	switch cfg.ledger.Kind {
	case "redis":
		ledgerReader = &ledger.RedisHash{Client: st.rdb, Key: cfg.ledger.Key, Addr: st.Addr}
	case "http":
		ledgerReader = &ledger.HTTP{URL: cfg.ledger.URL, Client: &http.Client{Timeout: 10 * time.Second}}
	}
	var before int64
	if cfg.ExpectCounter != "" {
		if before, err = st.get(ctx, cfg.ExpectCounter); err != nil {
			return nil, &SetupError{Err: err}
		}
	}

	stopProgress := r.progress()
	defer stopProgress()

	settings := r.settings()
	var be backend.Backend
	if cfg.Backend != nil {
		b, err := cfg.Backend(BackendSpec{Epoch: r.epoch, Env: r.env, Lag: r.lag, Events: r.record})
		if err != nil {
			return nil, &SetupError{Err: err}
		}
		be = b
	} else {
		if cfg.Readiness.Kind == "" {
			r.setPhase("finding a readiness probe")
			probe, isLameduck, note, err := local.DetectReadiness(ctx, cfg.Command, r.env, r.epoch, cfg.StartTimeout)
			if err != nil {
				return nil, setupErr("%s: %v", cfg.Command[0], err)
			}
			probe.Period, probe.Timeout = cfg.Readiness.Period, cfg.Readiness.Timeout
			probe.SuccessThreshold, probe.FailureThreshold, probe.InitialDelay = cfg.Readiness.SuccessThreshold, cfg.Readiness.FailureThreshold, cfg.Readiness.InitialDelay
			r.cfg.Readiness = probe
			cfg = r.cfg
			settings.Readiness, settings.ReadinessNote, settings.Lameduck = probe.String(), note, isLameduck
		}
		lb, err := local.New(local.Options{
			Command: cfg.Command, Env: r.env, Probe: cfg.Readiness, MinReady: cfg.MinReady, Grace: cfg.Grace,
			PreStopSleep: cfg.PreStopSleep, PreStopCommand: cfg.PreStopCommand, StopSignal: cfg.StopSignal,
			Nodes: cfg.Nodes, Lag: r.lag, Seed: cfg.Seed, Epoch: r.epoch, Events: r.record,
		})
		if err != nil {
			return nil, &SetupError{Err: err}
		}
		be = lb
	}
	defer be.Close()
	r.be = be

	// The Service existed before the drill: the first endpoints are
	// known to every node at once.
	r.noLag = true
	if err := r.startInitial(ctx); err != nil {
		return nil, err
	}
	if p, ok := be.(interface{ Publish() }); ok {
		p.Publish()
	}
	if err := waitViews(ctx, be, cfg.Replicas); err != nil {
		return nil, err
	}
	if p, ok := be.(interface{ AnswersPhase() bool }); ok && cfg.Readiness.Admin && !settings.Lameduck {
		settings.Lameduck = p.AnswersPhase()
	}
	r.rngMu.Lock()
	r.noLag = false
	r.rngMu.Unlock()

	r.setPhase("warm-up")
	var ld *load
	if cfg.Protocol == ProtocolGRPC {
		r.event(trace.EventLoadStart, "", fmt.Sprintf("%d RPC/s gRPC %s", cfg.Rate, cfg.Path))
		ld, err = startGRPCLoad(loadSpec{
			URL: be.Target(), Path: cfg.Path, GRPCRetry: cfg.GRPCRetry, Rate: cfg.Rate, Timeout: cfg.Timeout, Workers: cfg.Workers,
			Clients: cfg.Clients, RunID: r.runID,
		})
		if err != nil {
			return nil, &SetupError{Err: err}
		}
	} else {
		r.event(trace.EventLoadStart, "", fmt.Sprintf("%d req/s %s %s", cfg.Rate, cfg.Method, cfg.Path))
		ld = startLoad(loadSpec{
			URL: "http://" + be.Target() + cfg.Path, Method: cfg.Method, Body: cfg.Body, Header: cfg.Header,
			Rate: cfg.Rate, Timeout: cfg.Timeout, Workers: cfg.Workers, Clients: cfg.Clients, RunID: r.runID, Retry: cfg.Retry,
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
	if runErr == nil {
		runErr = r.rolloutsAndChaos(ctx)
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
	loadStop := r.since()
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.Timeout+2*time.Second)
	reqs := ld.stop(stopCtx)
	cancel()
	r.event(trace.EventLoadStop, "", "")
	if errors.Is(runErr, context.Canceled) || ctx.Err() != nil {
		return nil, fmt.Errorf("drill interrupted: %w", ctx.Err())
	}

	tr := &trace.Trace{Schema: trace.SchemaVersion, Epoch: r.epoch, Name: cfg.Name, Settings: settings, Backend: be.Name(),
		LoadStart: loadStart, LoadStop: loadStop}
	if runErr != nil {
		tr.RolloutError = runErr.Error()
	}
	for _, q := range reqs {
		tr.Requests = append(tr.Requests, q.trace(r.epoch))
	}
	if ld.retries != nil {
		ld.retries.attach(tr.Requests, r.epoch)
	}
	if ledgerReader != nil {
		r.setPhase("reading the ledger")
		prefix := r.runID + "-"
		ids, reads, stable, err := ledger.Settle(ctx, ledgerReader, cfg.Settle, cfg.Settle+cfg.Grace,
			func(id string) bool { return strings.HasPrefix(id, prefix) })
		if err != nil && !errors.Is(err, ledger.ErrUnstable) {
			return nil, &SetupError{Err: err}
		}
		tr.Ledger = &trace.Ledger{Source: ledgerReader.Source(), Committed: ids, Reads: reads, Stable: stable}
	}
	if cfg.ExpectCounter != "" {
		r.setPhase("reading the counter")
		after, err := r.settleCounter(ctx, cfg.ExpectCounter)
		if err != nil {
			return nil, &SetupError{Err: err}
		}
		tr.Counter = &trace.Counter{Key: cfg.ExpectCounter, Store: st.Addr, Before: before, After: after}
		if st.Embedded {
			tr.Counter.Store = "embedded store"
		}
	}
	stopProgress()
	if st, ok := be.(interface{ StopAll() }); ok {
		st.StopAll() // lifecycles final before they are recorded
	}
	be.Record(tr)
	r.mu.Lock()
	tr.Steps = slices.Clone(r.steps)
	tr.Rollouts = slices.Clone(r.rollouts)
	tr.Events = slices.Clone(r.events)
	tr.Chaos = r.chaos
	r.mu.Unlock()
	slices.SortStableFunc(tr.Events, func(a, b trace.Event) int { return int(a.At - b.At) })
	tr.End = r.since()
	return tr, nil
}

func (r *runner) settings() trace.Settings {
	cfg := r.cfg
	surge, unavail, _ := rollout.Fenceposts(cfg.Replicas, cfg.MaxSurge, cfg.MaxUnavailable)
	prestop := ""
	switch {
	case cfg.PreStopCommand != "":
		prestop = "sh -c " + fmt.Sprintf("%q", cfg.PreStopCommand)
	case cfg.PreStopSleep > 0:
		prestop = "sleep " + cfg.PreStopSleep.String()
	}
	method := cfg.Method
	if cfg.Protocol == ProtocolGRPC {
		method = "gRPC"
		if cfg.GRPCRetry {
			method = "gRPC (client retries UNAVAILABLE)"
		}
	}
	return trace.Settings{
		Command: cfg.Command, Replicas: cfg.Replicas, MaxSurge: string(cfg.MaxSurge), MaxUnavailable: string(cfg.MaxUnavailable),
		Surge: surge, Unavailable: unavail, Rollouts: cfg.Rollouts, Readiness: cfg.Readiness.String(), ProbePeriod: cfg.Readiness.Period,
		MinReady: cfg.MinReady, Grace: cfg.Grace, PreStop: prestop, PreStopSleep: cfg.PreStopSleep, StopSignal: pod.SignalName(cfg.StopSignal),
		Profile: cfg.Profile.Name, LagMin: cfg.Profile.Min, LagMax: cfg.Profile.Max, Nodes: cfg.Nodes, Seed: cfg.Seed,
		Protocol: cfg.Protocol, Method: method, Path: cfg.Path, Rate: cfg.Rate, Timeout: cfg.Timeout,
		Env: cfg.Env, Notes: cfg.Notes, Lameduck: cfg.Lameduck, Retry: cfg.Retry,
	}
}

// waitViews waits until every node sees n endpoints.
func waitViews(ctx context.Context, be backend.Backend, n int) error {
	deadline := time.After(10 * time.Second)
	for i := range be.Nodes() {
		for len(be.Endpoints(i)) < n {
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

// settleCounter reads the counter until it has not changed for Settle
// (bounded by Settle + Grace).
func (r *runner) settleCounter(ctx context.Context, key string) (int64, error) {
	last, err := r.st.get(ctx, key)
	if err != nil {
		return 0, err
	}
	stable := time.Now()
	deadline := time.Now().Add(r.cfg.Settle + r.cfg.Grace)
	for time.Since(stable) < r.cfg.Settle && time.Now().Before(deadline) {
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return 0, err
		}
		v, err := r.st.get(ctx, key)
		if err != nil {
			return 0, err
		}
		if v != last {
			last, stable = v, time.Now()
		}
	}
	return last, nil
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
