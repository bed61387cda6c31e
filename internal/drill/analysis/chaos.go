package analysis

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// Causes of --chaos and --retry runs (see docs/drill.md "Chaos and
// retries"). Their rows are at the end of Causes.
const (
	CauseChaosKill       = "sigkilled-by-chaos"
	CauseKilledInFlight  = "in-flight-at-sigkill"
	CauseDeadEndpoint    = "routed-to-killed-replica"
	CauseLostOnKill      = "acknowledged-write-lost-at-sigkill"
	CauseDupRetry        = "write-applied-twice-on-retry"
	CausePhantomOnKill   = "write-committed-before-sigkill-unanswered"
	CauseFailedForGood   = "failed-after-retries"
	retryAdviceNoKeyText = "retry failed requests in the client, with the same Idempotency-Key on every attempt, with backoff and honouring Retry-After (the retry package; the drill's --retry)"
)

// chaosCauses are the rows appended to Causes.
var chaosCauses = []CauseDef{
	{Key: CauseChaosKill, Fails: false,
		Explanation: "replicas were SIGKILLed on purpose (--chaos): no deletion, no preStop, no stop signal, no drain; their endpoints stayed in each balancer node until that node learned of the exit, and a replacement was started (locally a new replica, as a ReplicaSet does; on a cluster the kubelet restarts the container in place, as after an OOM kill)"},
	{Key: CauseKilledInFlight, Fails: true,
		Explanation: "requests were in flight on a replica when it was SIGKILLed: the connection was cut before any answer, so the client cannot know whether the write happened",
		Advice: func(Measures) []Advice {
			return []Advice{
				{Cause: CauseKilledInFlight, Kind: AdviceService, Text: retryAdviceNoKeyText, Flags: []string{"--retry"}},
				{Cause: CauseKilledInFlight, Kind: AdviceService, Text: "deduplicate writes by the Idempotency-Key on the server (store the key with the write, atomically, and answer a known key with the first answer: internal/idempotency), or the client's retries will apply some writes twice"},
			}
		}},
	{Key: CauseDeadEndpoint, Fails: true,
		Explanation: "requests reached a SIGKILLed replica's address before the balancer node learned it was gone (endpoint propagation lag): connection refused; nothing was sent, so a retry is always safe",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CauseDeadEndpoint, Kind: AdviceService, Text: retryAdviceNoKeyText, Flags: []string{"--retry"}}}
		}},
	{Key: CauseLostOnKill, Fails: true,
		Explanation: "acknowledged writes were lost when the replica that answered 2xx was SIGKILLed: it acknowledged before the write was durable; graceful shutdown cannot save work pending at a SIGKILL (an OOM kill, an eviction past its grace, a lost node)",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CauseLostOnKill, Kind: AdviceService, Text: "make the write durable before acknowledging: commit it (or an outbox row, in the same transaction) and only then answer 200; nothing the client was told is done may still be pending in the process"}}
		}},
	{Key: CauseDupRetry, Fails: true,
		Explanation: "a retried request was applied twice: an earlier attempt's write landed before the replica died or the connection was lost, and the server did not deduplicate the retry by its Idempotency-Key (the retry may be net/http's own: it re-sends a keyed request whose reused connection closed before any response byte)",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CauseDupRetry, Kind: AdviceService, Text: "deduplicate by the Idempotency-Key: in the same atomic step as the write, remember the key with its answer, and answer a known key with that answer instead of applying it again (internal/idempotency's Lua script; docs/retries.md)"}}
		}},
	{Key: CausePhantomOnKill, Fails: false,
		Explanation: "writes were committed, but the replica was SIGKILLed (or the connection lost) before the client got the answer: the client saw a failure although the write happened",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CausePhantomOnKill, Kind: AdviceService, Text: retryAdviceNoKeyText + "; the server must deduplicate by the key so that the retry answers instead of applying twice", Flags: []string{"--retry"}}}
		}},
	{Key: CauseFailedForGood, Fails: true,
		Explanation: "requests still failed after the client's retries: the time budget (--timeout) or the attempts ran out, or the last failure was one the retry policy does not retry (the deadline passing during an attempt, a 5xx without Retry-After); the retry report counts them by why the client stopped",
		Advice: func(m Measures) []Advice {
			if m.GaveUpBudget == 0 {
				return nil
			}
			return []Advice{{Cause: CauseFailedForGood, Kind: AdviceService, Text: fmt.Sprintf(
				"%d requests ran out of their %s budget while no replica could answer: a client gives up sooner than the service recovers from a kill (restart, readiness, endpoint propagation); give requests that may be retried a longer deadline (the drill's --timeout), or recover faster (replicas spread over nodes, a readiness probe that passes sooner)",
				m.GaveUpBudget, m.Timeout)}}
		}},
}

// KillReport is one kill and what it caused.
type KillReport struct {
	trace.Kill
	// Rollout is the rollout in progress at the kill (its index), 0
	// when none was.
	Rollout int `json:"rollout,omitempty"`
	// Failed counts requests whose failure (the last attempt's) is
	// attributed to this kill; Retried counts failed attempts on the
	// killed replicas that the client retried.
	Failed  int64 `json:"failed"`
	Retried int64 `json:"retried"`
	// Lost, Duplicated and Phantom count ledger discrepancies on the
	// killed replicas (Duplicated: the write applied twice after a retry
	// of an attempt cut by this kill).
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	Phantom    int64 `json:"phantom"`
}

// ChaosReport is the chaos of one run and what each kill caused.
type ChaosReport struct {
	Spec  string       `json:"spec"`
	Scope string       `json:"scope"`
	Kills []KillReport `json:"kills"`
}

// RetryReport is what the client's retries cost and saved (--retry).
type RetryReport struct {
	// Requests is how many requests were sent more than once; Attempts
	// how many extra attempts that took.
	Requests int64 `json:"requests"`
	Attempts int64 `json:"attempts"`
	// ByReason counts the retried attempts by the policy's reason.
	ByReason map[string]int64 `json:"by_reason"`
	// Saved: retried requests that then succeeded; FailedForGood: failed
	// requests, retried or not; GaveUp counts the failed ones by why the
	// client stopped retrying (trace.GaveUp*, "not-retried" when the last
	// failure was not one the policy retries).
	Saved         int64            `json:"saved"`
	FailedForGood int64            `json:"failed_for_good"`
	GaveUp        map[string]int64 `json:"gave_up,omitempty"`
	// P99Retried is the p99 latency of the retried requests (first
	// attempt to last answer); MaxRetried their maximum.
	P99Retried time.Duration `json:"p99_retried"`
	MaxRetried time.Duration `json:"max_retried"`
}

// chaosState is the analysis' view of the kills.
type chaosState struct {
	kills  []KillReport
	victim map[string]int // replica -> index in kills
	ix     *connIndex
}

func newChaosState(tr *trace.Trace) *chaosState {
	cs := &chaosState{victim: map[string]int{}}
	if tr.Chaos == nil {
		return cs
	}
	for i, k := range tr.Chaos.Kills {
		kr := KillReport{Kill: k}
		for _, ro := range tr.Rollouts {
			if k.At >= ro.Started && (k.At <= ro.Completed || ro.Completed == 0 && tr.RolloutError != "") {
				kr.Rollout = ro.Index
			}
		}
		cs.kills = append(cs.kills, kr)
		for _, name := range k.Replicas {
			cs.victim[name] = i
		}
	}
	cs.ix = newConnIndex(tr.Conns, tr.Requests)
	return cs
}

// killOf returns the kill that took the replica, or nil.
func (cs *chaosState) killOf(name string) *KillReport {
	if i, ok := cs.victim[name]; ok && name != "" {
		return &cs.kills[i]
	}
	return nil
}

// killIndex returns k's index in the kills.
func (cs *chaosState) killIndex(k *KillReport) int {
	for i := range cs.kills {
		if &cs.kills[i] == k {
			return i
		}
	}
	return -1
}

// chaosKilled reports whether --chaos killed the replica.
func (a *analyzer) chaosKilled(name string) bool { return a.chaos().killOf(name) != nil }

func (a *analyzer) chaos() *chaosState {
	if a.cs == nil {
		a.cs = newChaosState(a.tr)
	}
	return a.cs
}

// attemptKill returns the kill that cut a retried attempt, or nil.
func (cs *chaosState) attemptKill(at trace.Attempt) *KillReport {
	if cs.ix == nil || at.Local == "" {
		return nil
	}
	c := cs.ix.lookup(&trace.Request{Start: at.Start, End: at.End, Local: at.Local})
	if c == nil {
		return nil
	}
	return cs.killOf(c.Replica)
}

// chaosCause re-attributes a failure on a SIGKILLed replica to the kill;
// with --retry, a request that still failed after retries is
// failed-after-retries. It returns cause unchanged otherwise.
func (a *analyzer) chaosCause(q *trace.Request, f *Failure, lc *trace.Replica, cause string) string {
	cs := a.chaos()
	k := (*KillReport)(nil)
	if lc != nil {
		k = cs.killOf(lc.Name)
	}
	if k != nil {
		switch f.Class {
		case ClassRefused:
			if f.End >= k.At {
				cause = CauseDeadEndpoint
			}
		case ClassReset, ClassEOF, ClassTimeout:
			if lc.Exited == 0 || f.Start <= lc.Exited+exitWindow {
				cause = CauseKilledInFlight
			}
		}
		if cause == CauseDeadEndpoint || cause == CauseKilledInFlight {
			k.Failed++
			// The kill, not the rollout step it happened during, is
			// the moment that matters.
			f.Moment = fmt.Sprintf("%.1fs after chaos kill %d (SIGKILL %s)", (f.End - k.At).Seconds(), cs.killIndex(k)+1, strings.Join(k.Replicas, " "))
		}
	}
	if a.tr.Settings.Retry && len(q.Retried) > 0 {
		cause = CauseFailedForGood
	}
	return cause
}

// rolloutCutDuring reports whether a replica a rollout deleted (not one
// --chaos killed) exited abruptly between from and to (the unrecorded
// attempt was cut before the request ended) with a connection open:
// killed by its stop signal or after its grace period, or resetting that
// connection as it exited. A replica deleted before it served (an
// old-revision replacement a rollout scales away at once) cuts nothing.
func (a *analyzer) rolloutCutDuring(from, to time.Duration) bool {
	for _, rp := range a.tr.Replicas {
		if rp.Terminating == 0 || rp.StoppedAtEnd || rp.Exited < from || rp.Exited > to || a.chaosKilled(rp.Name) {
			continue
		}
		abrupt := rp.ExitSignal != "" || rp.Killed > 0
		for _, c := range a.tr.Conns {
			if c.Replica != rp.Name || c.Outcome != trace.OutcomeForwarded || c.Accepted > to || (c.Ended != 0 && c.Ended < from) {
				continue
			}
			reset := c.BackendClose == trace.CloseReset && c.BackendClosed >= from && c.BackendClosed <= to &&
				c.BackendClosed > rp.Exited-exitWindow && c.BackendClosed < rp.Exited+exitWindow
			if abrupt || reset {
				return true
			}
		}
	}
	return false
}

// chaosLedgerCause re-attributes a ledger discrepancy to a kill.
func (a *analyzer) chaosLedgerCause(q *trace.Request, e *LedgerEntry) {
	cs := a.chaos()
	switch e.Cause {
	case CauseLost:
		if k := cs.killOf(e.Replica); k != nil {
			e.Cause = CauseLostOnKill
			k.Lost++
		}
	case CauseDuplicated:
		if len(q.Retried) == 0 && !a.tr.Settings.Retry {
			return
		}
		// With --retry every request carries a key, and net/http itself
		// re-sends a keyed request whose reused connection closed before
		// any response byte, inside one attempt of the retry Transport:
		// such a retry leaves no attempt record.
		e.Cause = CauseDupRetry
		for _, at := range q.Retried {
			if k := cs.attemptKill(at); k != nil {
				k.Duplicated++
				return
			}
		}
		for i := range cs.kills {
			// No recorded attempt on a killed replica: the kill that
			// happened while the request was out, unless a rollout also
			// cut connections then (kills happen during the rollouts):
			// the unrecorded attempt may have been cut there, and the
			// duplicate is not this kill's.
			if k := &cs.kills[i]; k.At >= q.Start && k.At <= q.End {
				if !a.rolloutCutDuring(q.Start, q.End) {
					k.Duplicated++
				}
				return
			}
		}
	case CausePhantom:
		if k := cs.killOf(e.Replica); k != nil {
			e.Cause = CausePhantomOnKill
			k.Phantom++
		}
	}
}

// chaosReport builds Result.Chaos and Result.Retry.
func (a *analyzer) chaosReport() {
	cs := a.chaos()
	if a.tr.Chaos != nil {
		a.res.Chaos = &ChaosReport{Spec: a.tr.Chaos.Spec, Scope: a.tr.Chaos.Scope, Kills: cs.kills}
		if a.res.Chaos.Kills == nil {
			a.res.Chaos.Kills = []KillReport{}
		}
	}
	if !a.tr.Settings.Retry {
		return
	}
	rr := &RetryReport{ByReason: map[string]int64{}}
	var lat []time.Duration
	for i := range a.tr.Requests {
		q := &a.tr.Requests[i]
		if q.Unfinished {
			continue
		}
		if !q.Acked() {
			rr.FailedForGood++
			why := q.GaveUp
			if why == "" {
				why = "not-retried"
			}
			if rr.GaveUp == nil {
				rr.GaveUp = map[string]int64{}
			}
			rr.GaveUp[why]++
		}
		if len(q.Retried) == 0 {
			continue
		}
		rr.Requests++
		rr.Attempts += int64(len(q.Retried))
		if q.Acked() {
			rr.Saved++
		}
		lat = append(lat, q.End-q.Start)
		for _, at := range q.Retried {
			rr.ByReason[at.Reason]++
			if k := cs.attemptKill(at); k != nil {
				k.Retried++
			}
		}
	}
	slices.Sort(lat)
	rr.P99Retried = percentile(lat, .99)
	if len(lat) > 0 {
		rr.MaxRetried = lat[len(lat)-1]
	}
	a.res.Retry = rr
}

// KillText describes a kill in one line.
func KillText(k KillReport) string {
	s := fmt.Sprintf("+%.2fs SIGKILL %v (%s on node %d)", k.At.Seconds(), k.Replicas, k.Scope, k.Node)
	if len(k.Replacements) > 0 {
		s += fmt.Sprintf(", replaced by %v", k.Replacements)
	}
	if k.Rollout > 0 {
		s += fmt.Sprintf(", during rollout %d", k.Rollout)
	}
	return s
}
