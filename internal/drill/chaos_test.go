package drill

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// chaosDrill is a short drill under seeded chaos: 2 kills over 2s from
// the trigger of its one rollout (the first usually lands during it),
// 50 req/s, the demo's work taking 300ms.
func chaosDrill(t *testing.T, variant string, seed uint64, retry bool) Config {
	t.Helper()
	var cfg Config
	switch variant {
	case "naive":
		cfg = smallDrill(t, variant, bin, "demo", "--naive", "--delay", "300ms")
		probe, err := ParseReadiness("/healthz")
		if err != nil {
			t.Fatal(err)
		}
		probe.Period = 100 * time.Millisecond
		cfg.Readiness = probe
	case "lameduck":
		cfg = smallDrill(t, variant, bin, "demo", "--delay", "300ms")
	case "crashsafe":
		cfg = smallDrill(t, variant, bin, "demo", "--variant", "crashsafe", "--delay", "300ms")
	default:
		t.Fatalf("variant %q", variant)
	}
	if variant != "naive" {
		cfg.Env = append(slices.Clone(lameduckEnv), "LAMEDUCK_DRAIN_DELAY=600ms")
	}
	cfg.Seed = seed
	cfg.Rate = 50
	cfg.Chaos = ChaosSpec{Kills: 2, Scope: trace.ChaosReplica, Window: 2 * time.Second}
	cfg.Retry = retry
	return cfg
}

// TestChaosFiveSeeds is the proof, over 5 seeds: under the same
// seeded SIGKILLs and with the client retrying with idempotency keys, the
// naive service loses acknowledged writes, the graceful-only (lameduck)
// one loses them on the kills (and only there), and the crash-safe one
// loses nothing, duplicates nothing and fails no request. The figures
// are logged (go test -v) for BENCHMARKS.md.
func TestChaosFiveSeeds(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		for _, variant := range []string{"naive", "lameduck", "crashsafe"} {
			t.Run(fmt.Sprintf("%s/seed%d", variant, seed), func(t *testing.T) {
				res := runDrill(t, chaosDrill(t, variant, seed, true))
				l, c, rr := res.Ledger, res.Chaos, res.Retry
				if l == nil || c == nil || rr == nil {
					t.Fatalf("ledger %v, chaos %v, retry %v: want all three", l, c, rr)
				}
				t.Logf("figures: variant=%s seed=%d acked=%d lost=%d lost_at_kill=%d duplicated=%d failed=%d retried=%d attempts=%d p99=%v p99_retried=%v",
					variant, seed, l.Acked, l.Lost, causeCount(res, analysis.CauseLostOnKill), l.Duplicated, res.Load.Failed,
					rr.Requests, rr.Attempts, res.Load.Latency.P99, rr.P99Retried)
				if len(c.Kills) != 2 {
					t.Fatalf("%d kills, want 2", len(c.Kills))
				}
				for _, k := range c.Kills {
					if len(k.Replicas) != 1 || len(k.Replacements) != 1 {
						t.Fatalf("kill %+v: want one replica killed and one replacement", k)
					}
				}
				if causeCount(res, analysis.CauseChaosKill) != 2 {
					t.Fatalf("cause %s ×%d, want 2", analysis.CauseChaosKill, causeCount(res, analysis.CauseChaosKill))
				}
				switch variant {
				case "naive":
					if res.Verdict.Pass || l.Lost == 0 || causeCount(res, analysis.CauseLostOnKill) == 0 {
						t.Fatalf("naive: verdict %q, ledger %+v: want acknowledged writes lost on the kills", res.Verdict.Summary, l)
					}
				case "lameduck":
					lostOnKill := causeCount(res, analysis.CauseLostOnKill)
					if res.Verdict.Pass || lostOnKill == 0 || lostOnKill != l.Lost {
						t.Fatalf("lameduck: verdict %q, ledger %+v, %d lost on kills: want every loss on a kill (graceful shutdown loses nothing on the rollout)",
							res.Verdict.Summary, l, lostOnKill)
					}
					if l.Duplicated != 0 {
						t.Fatalf("lameduck: %d duplicated: it writes after the 200, a retried (failed) request never wrote", l.Duplicated)
					}
					if !hasAdvice(res, analysis.CauseLostOnKill, "durable before acknowledging") {
						t.Fatalf("lameduck: advice %+v does not name durable-before-acknowledge", res.Advice)
					}
				case "crashsafe":
					if !res.Verdict.Pass || l.Lost != 0 || l.Duplicated != 0 || l.Phantom != 0 || res.Load.Failed != 0 {
						t.Fatalf("crashsafe + retries: verdict %q, ledger %+v, %d failed: want nothing lost, duplicated or failed",
							res.Verdict.Summary, l, res.Load.Failed)
					}
					var retried int64
					for _, k := range c.Kills {
						retried += k.Retried
					}
					if rr.Requests == 0 || retried == 0 {
						t.Fatalf("crashsafe: retry report %+v, kills %+v: the kills caused no retry, the drill proved nothing", rr, c.Kills)
					}
				}
			})
		}
	}
}

func hasAdvice(res *analysis.Result, cause, text string) bool {
	for _, a := range res.Advice {
		if a.Cause == cause && strings.Contains(a.Text, text) {
			return true
		}
	}
	return false
}

// TestChaosWithoutRetryAdvisesRetry: the crash-safe service without
// client retries acknowledges only what it wrote, but the requests cut by
// the kills fail; they are attributed to the kills, and the advice names
// the missing piece, the client's retry (--retry).
func TestChaosWithoutRetryAdvisesRetry(t *testing.T) {
	res := runDrill(t, chaosDrill(t, "crashsafe", 1, false))
	if res.Ledger == nil || res.Ledger.Lost != 0 || res.Ledger.Duplicated != 0 {
		t.Fatalf("ledger %+v: the crash-safe service loses nothing acknowledged", res.Ledger)
	}
	if res.Retry != nil {
		t.Fatalf("retry report %+v without --retry", res.Retry)
	}
	onKills := causeCount(res, analysis.CauseKilledInFlight) + causeCount(res, analysis.CauseDeadEndpoint)
	var perKill int64
	for _, k := range res.Chaos.Kills {
		perKill += k.Failed
	}
	if res.Load.Failed == 0 || onKills != res.Load.Failed || perKill != onKills {
		t.Fatalf("%d failed, %d attributed to kill causes, %d to kills in the chaos report: want every failure tied to a kill",
			res.Load.Failed, onKills, perKill)
	}
	found := false
	for _, a := range res.Advice {
		if slices.Contains(a.Flags, "--retry") {
			found = true
		}
	}
	if !found {
		t.Fatalf("advice %+v does not name --retry", res.Advice)
	}
}

// TestChaosNodeKill: a node kill during a rollout takes every running
// replica of one node group at once, old and new, each replaced by its
// own revision; the rollout completes, and the crash-safe service with
// retries still loses and fails nothing.
func TestChaosNodeKill(t *testing.T) {
	cfg := chaosDrill(t, "crashsafe", 3, true)
	cfg.Replicas = 3
	// As in TestChaosKillsDuringRollout, the rollout lasts 3s or more:
	// the kill, within 1.5s of its trigger, falls inside it.
	cfg.Readiness.InitialDelay = time.Second
	cfg.Chaos = ChaosSpec{Kills: 1, Scope: trace.ChaosNode, Window: 1500 * time.Millisecond}
	tr, res := runDrillTrace(t, cfg)
	checkRolloutUnderChaos(t, cfg, tr, res)
	k := res.Chaos.Kills[0]
	// Replicas are placed on the 2 nodes in start order, old and new
	// ones alike: a node kill takes every running replica of one, one
	// or more, and each is replaced.
	if k.Scope != trace.ChaosNode || len(k.Replicas) == 0 || len(k.Replacements) != len(k.Replicas) {
		t.Fatalf("kill %+v: want a node kill with one replacement per replica", k)
	}
	if !res.Verdict.Pass || res.Ledger.Lost != 0 || res.Ledger.Duplicated != 0 {
		t.Fatalf("crashsafe node kill: %s, ledger %+v", res.Verdict.Summary, res.Ledger)
	}
}

// TestParseChaosAndMoments: the --chaos forms, and kill moments that are
// a function of the seed, inside the window.
func TestParseChaosAndMoments(t *testing.T) {
	c, err := ParseChaos("3", trace.ChaosNode, 2*time.Second)
	if err != nil || c.Kills != 3 || c.Scope != trace.ChaosNode || !c.Enabled() {
		t.Fatalf("ParseChaos(3) = %+v, %v", c, err)
	}
	r, err := ParseChaos("2.5/s", trace.ChaosReplica, 0)
	if err != nil || r.Rate != 2.5 || r.window() != DefaultChaosWindow {
		t.Fatalf("ParseChaos(2.5/s) = %+v, %v", r, err)
	}
	for _, bad := range []string{"", "0", "-1", "x", "0/s", "NaN/s", "1001", "101/s"} {
		if _, err := ParseChaos(bad, trace.ChaosReplica, 0); err == nil {
			t.Errorf("ParseChaos(%q) accepted", bad)
		}
	}
	draw := func(spec ChaosSpec, seed uint64) []time.Duration {
		return spec.moments(rand.New(rand.NewPCG(seed, seed)))
	}
	if a, b := draw(c, 1), draw(c, 1); !slices.Equal(a, b) || len(a) != 3 {
		t.Fatalf("same seed, moments %v and %v", a, b)
	}
	if a, b := draw(c, 1), draw(c, 2); slices.Equal(a, b) {
		t.Fatalf("seeds 1 and 2 drew the same moments %v", a)
	}
	n := 0
	for seed := range uint64(200) {
		for _, m := range draw(r, seed) {
			if m < 0 || m >= r.window() {
				t.Fatalf("moment %v outside the window", m)
			}
			n++
		}
	}
	// 200 windows of 5s at 2.5/s: 2500 expected; a Poisson count.
	if n < 2300 || n > 2700 {
		t.Fatalf("%d kills drawn, want about 2500", n)
	}
}

// TestChaosRetryWithoutDedupeDuplicates: a service that writes before its
// work and ignores the Idempotency-Key: the requests cut by a kill after
// their write are retried and applied twice. The ledger names them, ties
// each to the kill that cut its first attempt, and the advice names the
// missing piece (deduplicate by the key).
func TestChaosRetryWithoutDedupeDuplicates(t *testing.T) {
	cfg := chaosDrill(t, "crashsafe", 1, true)
	cfg.Name = "crashsafe, no dedupe"
	cfg.Command = append(cfg.Command, "--fault", "no-dedupe")
	res := runDrill(t, cfg)
	l := res.Ledger
	if res.Verdict.Pass || l == nil || l.Duplicated == 0 || l.Lost != 0 {
		t.Fatalf("verdict %q, ledger %+v: want writes duplicated by the retries, none lost", res.Verdict.Summary, l)
	}
	var perKill int64
	for _, k := range res.Chaos.Kills {
		perKill += k.Duplicated
	}
	if got := causeCount(res, analysis.CauseDupRetry); got != l.Duplicated || perKill != l.Duplicated {
		t.Fatalf("%d duplicated, %d attributed to %s, %d tied to kills: want all of them", l.Duplicated, got, analysis.CauseDupRetry, perKill)
	}
	if !hasAdvice(res, analysis.CauseDupRetry, "deduplicate by the Idempotency-Key") {
		t.Fatalf("advice %+v does not name deduplication by the key", res.Advice)
	}
}

// TestChaosKillsDuringRollout: the kills hit while the rollout runs, and
// the rollout controller stays correct under them, as a Deployment with
// its ReplicaSets would. 3 replicas (maxSurge 1, maxUnavailable 0), a
// readiness initialDelay of 1s: the rollout makes one new replica at a
// time, each ready 1s after its start at the earliest, so it lasts 3s or
// more, and both kills (drawn over 2.5s from its trigger) fall inside it.
// The first (+0.72s with seed 51) can only take an old replica: no new
// one is ready before 1s. The second (+1.97s) takes, on an unloaded
// machine, the first new replica (the seed's draw is the third of the
// three ready ones); which one it takes depends on timing, so the checks
// hold for either revision.
//
// The graceful (lameduck) demo without client retries: the rollout
// itself fails and loses nothing, so every failure and every lost write
// is the kills', and none is the rollout's; the first kill loses the
// writes its victim acknowledged in the 300ms of work before it.
func TestChaosKillsDuringRollout(t *testing.T) {
	cfg := chaosDrill(t, "lameduck", 51, false)
	cfg.Replicas = 3
	cfg.Readiness.InitialDelay = time.Second
	cfg.Chaos = ChaosSpec{Kills: 2, Scope: trace.ChaosReplica, Window: 2500 * time.Millisecond}
	// Connections spread over the replicas (each client pins its
	// keep-alive connection to one): the old replica the first kill
	// takes acknowledged writes in the 300ms before it, whose work the
	// kill loses.
	cfg.Rate, cfg.Clients = 200, 48
	tr, res := runDrillTrace(t, cfg)
	rev := checkRolloutUnderChaos(t, cfg, tr, res)
	if v := res.Chaos.Kills[0].Replicas; rev[v[0]] != 0 {
		t.Fatalf("first kill took %v: before 1s only old replicas are ready", v)
	}
	// The verdict: the kills fail requests and lose writes; the graceful
	// rollout none.
	l := res.Ledger
	onKills := causeCount(res, analysis.CauseKilledInFlight) + causeCount(res, analysis.CauseDeadEndpoint)
	var failed, lost int64
	for _, k := range res.Chaos.Kills {
		failed += k.Failed
		lost += k.Lost
	}
	if res.Verdict.Pass || onKills != res.Load.Failed || failed != onKills {
		t.Fatalf("verdict %q, %d failed, %d attributed to kill causes, %d to the kills: want every failure tied to a kill",
			res.Verdict.Summary, res.Load.Failed, onKills, failed)
	}
	if l == nil || l.Duplicated != 0 || res.Chaos.Kills[0].Lost == 0 || l.Lost != causeCount(res, analysis.CauseLostOnKill) || lost != l.Lost {
		t.Fatalf("ledger %+v, %d lost at a kill, %d in the kill reports: want every loss on a kill", l, causeCount(res, analysis.CauseLostOnKill), lost)
	}
	allowed := map[string]bool{analysis.CauseChaosKill: true, analysis.CauseKilledInFlight: true, analysis.CauseDeadEndpoint: true,
		analysis.CauseLostOnKill: true, analysis.CausePhantomOnKill: true}
	for _, c := range res.Causes {
		if c.Count > 0 && !allowed[c.Key] {
			t.Fatalf("cause %s ×%d: the graceful rollout caused a failure, or a kill's was not tied to it", c.Key, c.Count)
		}
	}
	for _, f := range res.Failures {
		if !strings.Contains(f.Moment, "after chaos kill") {
			t.Fatalf("failure %+v: its moment does not name the kill", f)
		}
	}
}

// checkRolloutUnderChaos checks a run of one rollout whose every kill
// fell inside it: the kills took no replica the rollout deleted, each
// victim was replaced by its own revision's ReplicaSet (the old-revision
// replacements then deleted by the rollout), the rollout completed,
// creating exactly one replica per desired one (a kill's replacement is
// not a second create), no kill counted as a failed start, and the
// desired number of new-revision replicas ran at the end. It returns
// each replica's revision.
func checkRolloutUnderChaos(t *testing.T, cfg Config, tr *trace.Trace, res *analysis.Result) map[string]int {
	t.Helper()
	if res.RolloutError != "" || len(res.Rollouts) != 1 || res.Rollouts[0].Completed == 0 {
		t.Fatalf("rollout error %q, rollouts %+v: want the rollout complete", res.RolloutError, res.Rollouts)
	}
	ro := res.Rollouts[0]
	rev := map[string]int{}
	for _, rp := range res.Replicas {
		rev[rp.Name] = rp.Revision
	}
	deleted, created := map[string]bool{}, 0
	for _, s := range tr.Steps {
		switch s.Action {
		case trace.StepDelete:
			deleted[s.Replica] = true
		case trace.StepCreate:
			created++
		}
	}
	killed := map[string]bool{}
	for _, k := range res.Chaos.Kills {
		for _, v := range k.Replicas {
			killed[v] = true
		}
	}
	if len(res.Chaos.Kills) != cfg.Chaos.Kills {
		t.Fatalf("kills %+v, want %d", res.Chaos.Kills, cfg.Chaos.Kills)
	}
	for i, k := range res.Chaos.Kills {
		if k.At <= ro.Started || k.At >= ro.Completed {
			t.Fatalf("kill %d at %v, rollout from %v to %v: want the kill during the rollout", i+1, k.At, ro.Started, ro.Completed)
		}
		if len(k.Replicas) == 0 || len(k.Replacements) != len(k.Replicas) {
			t.Fatalf("kill %d %+v: want one replacement per replica killed", i+1, k)
		}
		for j, v := range k.Replicas {
			repl := k.Replacements[j]
			if deleted[v] {
				t.Fatalf("kill %d took %s, which the rollout had deleted", i+1, v)
			}
			if rev[repl] != rev[v] {
				t.Fatalf("kill %d: %s (revision %d) replaced by %s of revision %d: want the victim's ReplicaSet's", i+1, v, rev[v], repl, rev[repl])
			}
			// An old-revision replacement belongs to the old
			// ReplicaSet, which the rollout scales to zero.
			if rev[repl] == 0 && !deleted[repl] && !killed[repl] {
				t.Fatalf("kill %d: old-revision replacement %s survived the rollout", i+1, repl)
			}
			t.Logf("kill %d at +%.2fs (rollout +%.2fs to +%.2fs): %s of revision %d, replaced by %s",
				i+1, k.At.Seconds(), ro.Started.Seconds(), ro.Completed.Seconds(), v, rev[v], repl)
		}
	}
	// The ReplicaSet replaces a killed new replica, not the rollout: it
	// creates exactly one new replica per desired one.
	if created != cfg.Replicas {
		t.Fatalf("the rollout created %d replicas, want %d (a kill's replacement is the ReplicaSet's, not a second create)", created, cfg.Replicas)
	}
	var running int
	for _, rp := range res.Replicas {
		if rp.StoppedAtEnd {
			running++
			if rp.Revision != 1 {
				t.Fatalf("replica %s of revision %d still ran at the end", rp.Name, rp.Revision)
			}
		}
	}
	if running != cfg.Replicas {
		t.Fatalf("%d replicas ran at the end, want %d", running, cfg.Replicas)
	}
	for _, e := range tr.Events {
		if e.Kind == trace.EventReplicaFailed {
			t.Fatalf("event %+v: a chaos kill is not a failed start", e)
		}
	}
	return rev
}

// runDrillTrace is runDrill that also returns the trace.
func runDrillTrace(t *testing.T, cfg Config) (*trace.Trace, *analysis.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tr, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	saveTrace(t, tr)
	res := analysis.Analyze(tr)
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Log("\n" + reportText(res))
		}
	})
	return tr, res
}
