// Package analysis turns a recorded trace.Trace into a Result: every
// request classified, every failure and ledger discrepancy tied to a cause
// from one ordered table (Causes), advice computed from what was measured,
// and a verdict. Analyze is a pure function of the trace: the same trace
// always gives the same Result, so recorded traces in testdata/ are its
// tests.
package analysis

import (
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// Failure classes, as the client saw them.
const (
	ClassRefused = "refused" // no listener behind the balancer (kube-proxy: connection refused)
	ClassReset   = "reset"   // connection reset by peer, broken pipe
	ClassEOF     = "EOF"     // connection closed without a response
	ClassTimeout = "timeout" // no response within the request timeout
	Class5xx     = "5xx"     // HTTP status 500–599
	ClassOther   = "other"   // anything else (other statuses, other errors)
)

// Classes lists the failure classes in report order.
var Classes = []string{ClassRefused, ClassReset, ClassEOF, ClassTimeout, Class5xx, ClassOther}

// Failure is one failed request.
type Failure struct {
	Seq      uint64        `json:"seq"`
	ID       string        `json:"id"`
	Start    time.Duration `json:"start"` // when it was sent
	End      time.Duration `json:"end"`   // when it failed
	Class    string        `json:"class"`
	Code     int           `json:"code,omitempty"`
	GRPCCode string        `json:"grpc_code,omitempty"`
	Error    string        `json:"error,omitempty"`
	Replica  string        `json:"replica,omitempty"` // "" when unknown
	Conn     uint64        `json:"conn,omitempty"`    // balancer connection id
	Node     int           `json:"node"`
	Reused   bool          `json:"reused_connection"`
	Moment   string        `json:"moment"` // when it failed, relative to the rollouts, in words
	Cause    string        `json:"cause"`  // key into Causes
}

// Cause is one cause found in this run.
type Cause struct {
	Key         string   `json:"key"`
	Count       int64    `json:"count"`
	Replicas    []string `json:"replicas,omitempty"`
	Explanation string   `json:"explanation"`
	// Evidence quotes what the drill saw (the replica's own log lines,
	// measured times).
	Evidence []string `json:"evidence,omitempty"`
}

// Advice kinds, in the order they are shown.
const (
	AdviceKubernetes = "kubernetes" // a manifest setting (preStop, grace period, stop signal)
	AdviceService    = "service"    // a change to the service's code
	AdviceLameduck   = "lameduck"   // the lameduck library's way to get it
)

// Advice is one recommendation.
type Advice struct {
	Cause string `json:"cause"`
	Kind  string `json:"kind"`
	Text  string `json:"text"`
	// Flags are the drill flags that apply the advice to a re-run
	// ("--prestop-sleep", "2s"): every number in Text is one of them.
	Flags []string `json:"flags,omitempty"`
}

// LedgerEntry is one request the ledger found wrong.
type LedgerEntry struct {
	ID        string        `json:"id"`
	Start     time.Duration `json:"start"`
	End       time.Duration `json:"end,omitempty"`
	Replica   string        `json:"replica,omitempty"`
	Conn      uint64        `json:"conn,omitempty"`
	Code      int           `json:"code,omitempty"`
	Error     string        `json:"error,omitempty"`
	Committed int64         `json:"committed"`
	Cause     string        `json:"cause"`
}

// LedgerReport reconciles acknowledged requests with the ids the store
// committed.
type LedgerReport struct {
	Source string `json:"source"`
	Acked  int64  `json:"acked"`
	// Committed counts distinct request ids of this run in the store.
	Committed int64 `json:"committed"`
	// Lost: acknowledged, not committed.
	Lost int64 `json:"lost"`
	// Phantom: committed, but the client saw a failure.
	Phantom int64 `json:"phantom"`
	// Duplicated: committed more than once (requests, not extra commits).
	Duplicated int64 `json:"duplicated"`
	// InFlight: no answer when the drill stopped; committed or not, they
	// are neither lost nor phantom.
	InFlight int64 `json:"in_flight"`
	// Unknown: committed ids the drill never sent.
	Unknown int64 `json:"unknown"`
	// Examples are the first lost, duplicated and phantom requests.
	Examples []LedgerEntry `json:"examples,omitempty"`
}

// CounterReport is the weak check: a net count that cannot tell a lost
// write from a duplicated one.
type CounterReport struct {
	Key     string `json:"key"`
	Store   string `json:"store"`
	Before  int64  `json:"before"`
	After   int64  `json:"after"`
	Counted int64  `json:"counted"` // After - Before
	Acked   int64  `json:"acked"`
	// Missing = Acked - Counted when positive; Extra the other way.
	Missing int64 `json:"missing"`
	Extra   int64 `json:"extra"`
}

// Latency holds latency percentiles of every finished request.
type Latency struct {
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

// LoadReport summarizes the load.
type LoadReport struct {
	Protocol      string         `json:"protocol"`
	Method        string         `json:"method"`
	Path          string         `json:"path"`
	RequestedRate int            `json:"requested_rate"`
	AchievedRate  float64        `json:"achieved_rate"`
	Duration      time.Duration  `json:"duration"`
	Sent          int64          `json:"sent"`
	Succeeded     int64          `json:"succeeded"`
	Failed        int64          `json:"failed"`
	ByClass       map[string]int `json:"by_class"`
	// CutByDrill counts requests still running when the drill stopped
	// the load (its own teardown): not counted as failures.
	CutByDrill int64   `json:"cut_by_drill"`
	Latency    Latency `json:"latency"`
}

// Replica readiness while terminating (Replica.Readiness).
const (
	ReadinessWentUnready = "went-unready"
	ReadinessStayedReady = "stayed-ready"
	ReadinessNoAnswer    = "no-answer"
)

// Replica is one replica's lifecycle plus what the analysis concluded.
type Replica struct {
	trace.Replica
	// Readiness while terminating (Readiness*), "" when not terminated or
	// a tcp probe.
	Readiness string `json:"readiness_while_terminating,omitempty"`
	// Stop is how it stopped, in words.
	Stop   string `json:"stop"`
	Served int64  `json:"served"`
	Failed int64  `json:"failed"`
	// ServedAfterSignal is how long it still answered requests after
	// its stop signal (the last 2xx it served minus the signal).
	ServedAfterSignal time.Duration `json:"served_after_signal,omitempty"`
}

// Verdict is the outcome of one run.
type Verdict struct {
	Pass bool `json:"pass"`
	// Summary is one line: "PASS: …" or "FAIL: …".
	Summary string   `json:"summary"`
	Reasons []string `json:"reasons,omitempty"`
	// WritesVerified is false when no store was checked: a pass then
	// says nothing about lost writes.
	WritesVerified bool `json:"writes_verified"`
}

// Result is the outcome of one drill.
type Result struct {
	Schema   int             `json:"schema"`
	Name     string          `json:"name"`
	Verdict  Verdict         `json:"verdict"`
	Settings trace.Settings  `json:"settings"`
	Duration time.Duration   `json:"duration"`
	Load     LoadReport      `json:"load"`
	Ledger   *LedgerReport   `json:"ledger,omitempty"`
	Counter  *CounterReport  `json:"counter,omitempty"`
	Rollouts []trace.Rollout `json:"rollouts"`
	// RolloutError says why the rollout did not complete.
	RolloutError string    `json:"rollout_error,omitempty"`
	Replicas     []Replica `json:"replicas"`
	Causes       []Cause   `json:"causes"`
	Advice       []Advice  `json:"advice"`
	Failures     []Failure `json:"failures"`
	// Chaos is what --chaos killed and what each kill caused; Retry what
	// the client's retries did (--retry). Nil without them.
	Chaos *ChaosReport `json:"chaos,omitempty"`
	Retry *RetryReport `json:"retry,omitempty"`
	// MaxLag is the longest a balancer node took to see a deletion.
	MaxLag time.Duration `json:"max_observed_lag"`
}

// Clean reports whether the run passed.
func (r *Result) Clean() bool { return r.Verdict.Pass }
