package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lameduck-dev/lameduck/internal/drill/kube/podload"
	"github.com/lameduck-dev/lameduck/internal/drill/ledger"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// DrillSpec is one drill of a workload on a real cluster.
type DrillSpec struct {
	Name    string
	Patch   Patch  // what triggers the rollout (RestartPatch or ImagePatch)
	Service string // the Service the load goes to (in the target's namespace)
	Port    string // its port name or number ("" when it has one)
	Method  string
	Path    string
	Rate    int
	// Duration is the load's length; the rollout must be done (and Tail
	// passed) before it ends.
	Duration time.Duration
	Warmup   time.Duration // load before the trigger
	Tail     time.Duration // load after the rollout is done
	Timeout  time.Duration // per request
	// RolloutTimeout bounds the wait for the rollout to be done.
	RolloutTimeout time.Duration
	// Settle: the ledger is read until it stays unchanged this long.
	Settle    time.Duration
	LoadImage string
	PullNever bool
	// Ledger reads what the service committed (nil: not verified).
	Ledger ledger.Reader
	// Progress receives one line per phase (nil: silent).
	Progress io.Writer
	Settings trace.Settings
	Retry    bool // the load retries with idempotency keys (LoadSpec.Retry)
	// Chaos, when not nil, SIGKILLs the workload's pods during the
	// rollout (ChaosSpec; the agent pods use LoadImage).
	Chaos *ChaosSpec
}

// Drill runs one drill on the cluster: it starts the watches, starts the
// in-cluster load, triggers the rollout after the warmup, waits until the
// rollout is done (DeploymentDone/StatefulSetDone, then Tail), waits for the
// load to end, reads the ledger, and returns the trace, the same document
// the local backend produces. An error is returned only when the drill
// could not run (the trace's RolloutError holds a rollout that did not
// complete).
func (c *Cluster) Drill(ctx context.Context, s DrillSpec) (*trace.Trace, error) {
	say := func(format string, a ...any) {
		if s.Progress != nil {
			fmt.Fprintf(s.Progress, "lameduck drill --kube: "+format+"\n", a...)
		}
	}
	ns := c.Target.Namespace
	_, sel, err := c.PodTemplate(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Target, err)
	}
	svc, err := c.CS.CoreV1().Services(ns).Get(ctx, s.Service, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", s.Service, err)
	}
	url, err := ServiceURL(svc, s.Port, s.Path)
	if err != nil {
		return nil, err
	}
	if p, err := c.Progress(ctx, sel); err != nil {
		return nil, err
	} else if !p.Done {
		return nil, fmt.Errorf("%s is not at rest before the drill (%s): wait for it to finish", c.Target, p.Reason)
	}

	signalAtDeletion, err := c.Settings(ctx, &s.Settings)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Target, err)
	}

	epoch := time.Now()
	runID := fmt.Sprintf("kd%x", epoch.UnixNano()%(1<<40))
	rec := NewRecorder(epoch)
	var ch *chaos
	if s.Chaos != nil && len(s.Chaos.Moments) > 0 {
		ch = &chaos{c: c, sel: sel, spec: *s.Chaos, rec: rec, runID: runID, image: s.LoadImage, pull: s.PullNever,
			deadline: s.Duration + s.RolloutTimeout + 2*time.Minute, say: say, agents: map[string]string{}, killed: map[string]bool{}}
		defer ch.cleanup(ctx)
		say("chaos: %s from the trigger on; starting the agent pod(s)", s.Chaos.Spec)
		if err := ch.prepare(ctx); err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
	}
	rec.SignalAtDeletion, rec.StopSignal = signalAtDeletion, s.Settings.StopSignal
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchErr := make(chan error, 1)
	logs := newLogTails(ctx, c, rec)
	go func() {
		watchErr <- c.Watch(wctx, sel, s.Service, func(e Event) {
			rec.Add(e)
			logs.observe(e)
		})
	}()

	// The load pod's log is decoded after it ends; it is also the only
	// record of the requests, so it is kept whole.
	say("load: pod lameduck-load-%s, %d req/s for %s to %s", runID, s.Rate, s.Duration, url)
	var logBuf syncBuffer
	loadDone := make(chan error, 1)
	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	go func() {
		loadDone <- c.RunLoad(loadCtx, LoadSpec{Namespace: ns, Image: s.LoadImage, PullNever: s.PullNever, URL: url,
			Method: s.Method, Rate: s.Rate, Duration: s.Duration, Timeout: s.Timeout, RunID: runID, Retry: s.Retry}, &logBuf)
	}()
	// The load has begun when its first record arrives.
	var loadStart time.Duration
	for loadStart == 0 {
		select {
		case err := <-loadDone:
			return nil, fmt.Errorf("the load ended before its first request: %v (log: %s)", err, tail(logBuf.String()))
		case err := <-watchErr:
			return nil, fmt.Errorf("watch: %w", err)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
			if strings.Contains(logBuf.String(), `"req"`) {
				loadStart = time.Since(epoch)
			}
		}
	}
	rec.Event(time.Now(), trace.EventLoadStart, "", url)
	select {
	case <-time.After(s.Warmup):
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	say("trigger: %s", s.Patch.DryRun(c.Target))
	rec.NewRevision()
	trig := time.Now()
	rec.Event(trig, trace.EventRolloutStart, "", string(s.Patch.Data))
	tr := &trace.Trace{Schema: trace.SchemaVersion, Epoch: epoch, Name: s.Name, Settings: s.Settings,
		Backend: "kube", LoadStart: loadStart}
	ro := trace.Rollout{Index: 0, Started: trig.Sub(epoch)}
	if err := c.Trigger(ctx, s.Patch); err != nil {
		return nil, fmt.Errorf("trigger the rollout: %w", err)
	}
	chaosDone := make(chan error, 1)
	if ch != nil {
		go func() { chaosDone <- ch.run(ctx, trig, s.RolloutTimeout) }()
	}
	rctx, cancel := context.WithTimeout(ctx, s.RolloutTimeout)
	p, err := c.WaitDone(rctx, sel, 250*time.Millisecond, 0)
	cancel()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if ch != nil {
		// The rollout may be done before the last kill: the workload is
		// at rest only when the chaos is over and the rollout is done.
		if cerr := <-chaosDone; cerr != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, cerr
		}
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, s.RolloutTimeout)
			p, err = c.WaitDone(rctx, sel, 250*time.Millisecond, 0)
			cancel()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	if err != nil {
		tr.RolloutError = err.Error()
		say("rollout NOT done: %v", err)
	} else {
		ro.Completed = time.Since(epoch)
		rec.Event(time.Now(), trace.EventRolloutComplete, "", p.Reason)
		say("rollout done after %.1fs (no terminating pod left)", (ro.Completed - ro.Started).Seconds())
	}
	tr.Rollouts = []trace.Rollout{ro}
	select {
	case <-time.After(s.Tail):
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	var loadErr error
	select {
	case loadErr = <-loadDone:
		if tr.RolloutError == "" && ro.Completed > 0 {
			tr.RolloutError = fmt.Sprintf("the load ended before the rollout was done and --tail had passed: raise --duration (now %s)", s.Duration)
		}
	default:
		say("waiting for the load to end")
		select {
		case loadErr = <-loadDone:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	tr.LoadStop = time.Since(epoch)
	rec.Event(time.Now(), trace.EventLoadStop, "", "")
	recs, sum, derr := podload.Decode(strings.NewReader(logBuf.String()))
	if loadErr != nil || derr != nil || sum == nil {
		return nil, fmt.Errorf("the load's record is incomplete (load: %v, decode: %v, summary seen: %t): %s",
			loadErr, derr, sum != nil, tail(logBuf.String()))
	}
	if int64(len(recs)) != sum.Sent {
		return nil, fmt.Errorf("the load's log holds %d records for %d requests sent", len(recs), sum.Sent)
	}
	tr.Requests = rec.Requests(recs)

	if s.Ledger != nil {
		say("reading the ledger %s", s.Ledger.Source())
		prefix := runID + "-"
		ids, reads, stable, err := ledger.Settle(ctx, s.Ledger, s.Settle, s.Settle+30*time.Second,
			func(id string) bool { return strings.HasPrefix(id, prefix) })
		if err != nil && !errors.Is(err, ledger.ErrUnstable) {
			return nil, err
		}
		tr.Ledger = &trace.Ledger{Source: s.Ledger.Source(), Committed: ids, Reads: reads, Stable: stable}
	}
	logs.finish()
	stopWatch()
	if err := <-watchErr; err != nil {
		tr.Settings.Notes = append(tr.Settings.Notes, "watch ended early: "+err.Error())
	}
	// After the watch: a pod's exit must be recorded before its
	// connections can refine it.
	// Every attempt (podload.Flatten): a retried attempt cut by a kill is
	// tied to its pod through its own connection.
	tr.Conns = rec.Connections(podload.Flatten(recs))
	rec.Fill(tr)
	if ch != nil {
		tr.Chaos = ch.record()
		for i, k := range tr.Chaos.Kills {
			for _, name := range k.Replicas {
				if n := rec.Next(name); n != "" {
					tr.Chaos.Kills[i].Replacements = append(tr.Chaos.Kills[i].Replacements, n)
				}
			}
		}
	}
	tr.End = time.Since(epoch)
	return tr, nil
}

// tail returns the last lines of a log, for error messages.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

// syncBuffer is a bytes buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
