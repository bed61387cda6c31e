package drill

import (
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/balancer"
	"github.com/lameduck-dev/lameduck/internal/drill/pod"
)

// Event is one event of the drill's timeline: a replica's lifecycle, a
// rollout step, the load starting or stopping. At is since the start of
// the drill.
type Event = pod.Event

// Failure classes, as the client saw them.
const (
	ClassRefused = "refused" // no listener behind the balancer (kube-proxy: connection refused)
	ClassReset   = "reset"   // connection reset by peer, broken pipe
	ClassEOF     = "EOF"     // connection closed without a response
	ClassTimeout = "timeout" // no response within --timeout
	Class5xx     = "5xx"     // HTTP status 500–599
	ClassOther   = "other"   // anything else (other statuses, other errors)
)

// Classes lists the failure classes in report order.
var Classes = []string{ClassRefused, ClassReset, ClassEOF, ClassTimeout, Class5xx, ClassOther}

// Failure is one failed request.
type Failure struct {
	Seq      uint64        `json:"seq"`
	ID       string        `json:"id"`
	At       time.Duration `json:"at"`      // when it was sent, since the start of the drill
	Latency  time.Duration `json:"latency"` // until it failed
	Class    string        `json:"class"`
	Code     int           `json:"code,omitempty"`      // HTTP status
	GRPCCode string        `json:"grpc_code,omitempty"` // gRPC status code name (--protocol grpc)
	Error    string        `json:"error,omitempty"`
	Replica  string        `json:"replica,omitempty"` // "" when unknown
	Node     int           `json:"node"`
	Reused   bool          `json:"reused_connection"`
	Moment   string        `json:"moment"` // rollout moment, in words
	Cause    string        `json:"cause"`  // key into Result.Causes
}

// Cause is one attributed cause of failures or losses, with advice.
type Cause struct {
	Key         string   `json:"key"`
	Count       int64    `json:"count"`
	Replicas    []string `json:"replicas,omitempty"`
	Explanation string   `json:"explanation"`
	Advice      string   `json:"advice,omitempty"`
}

// Verification compares acknowledged requests with the store.
type Verification struct {
	Key        string `json:"key"`
	Store      string `json:"store"`
	Embedded   bool   `json:"embedded"`
	Before     int64  `json:"before"`
	After      int64  `json:"after"`
	Counted    int64  `json:"counted"` // After - Before
	Acked      int64  `json:"acked"`   // 2xx responses
	Lost       int64  `json:"lost"`    // acked but not counted
	Duplicated int64  `json:"duplicated"`
}

// Latency holds latency percentiles of every request.
type Latency struct {
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

// LoadReport summarizes the load.
type LoadReport struct {
	Method        string         `json:"method"`
	Path          string         `json:"path"`
	RequestedRate int            `json:"requested_rate"`
	AchievedRate  float64        `json:"achieved_rate"`
	Duration      time.Duration  `json:"duration"`
	Sent          int64          `json:"sent"`
	Succeeded     int64          `json:"succeeded"` // 2xx
	Failed        int64          `json:"failed"`
	ByClass       map[string]int `json:"by_class"`
	Latency       Latency        `json:"latency"`
}

// RolloutReport is one rolling update.
type RolloutReport struct {
	Index     int           `json:"index"`
	Started   time.Duration `json:"started"`
	Completed time.Duration `json:"completed,omitempty"`
}

// Replica is one replica's lifecycle plus what the drill concluded about it.
type Replica struct {
	pod.Lifecycle
	// Readiness while terminating: "went-unready", "stayed-ready",
	// "no-answer" or "" (not terminated, or a tcp probe).
	Readiness string `json:"readiness_while_terminating,omitempty"`
	Served    int64  `json:"served"`
	Failed    int64  `json:"failed"`
}

// Settings echoes the configuration of the run.
type Settings struct {
	Command        []string      `json:"command"`
	Replicas       int           `json:"replicas"`
	MaxSurge       string        `json:"max_surge"`
	MaxUnavailable string        `json:"max_unavailable"`
	Surge          int           `json:"surge"`
	Unavailable    int           `json:"unavailable"`
	Rollouts       int           `json:"rollouts"`
	Readiness      string        `json:"readiness"`
	ProbePeriod    time.Duration `json:"probe_period"`
	MinReady       time.Duration `json:"min_ready"`
	Grace          time.Duration `json:"grace"`
	PreStop        string        `json:"prestop,omitempty"`
	StopSignal     string        `json:"stop_signal"`
	Profile        string        `json:"profile"`
	LagMin         time.Duration `json:"lag_min"`
	LagMax         time.Duration `json:"lag_max"`
	Nodes          int           `json:"nodes"`
	Seed           uint64        `json:"seed"`
	Env            []string      `json:"env,omitempty"`
	Notes          []string      `json:"notes,omitempty"`
}

// Result is the full outcome of one drill (the --json document holds one
// Result per run).
type Result struct {
	Name         string               `json:"name"`
	Settings     Settings             `json:"settings"`
	Duration     time.Duration        `json:"duration"`
	Load         LoadReport           `json:"load"`
	Verification *Verification        `json:"verification,omitempty"`
	Rollouts     []RolloutReport      `json:"rollouts"`
	RolloutError string               `json:"rollout_error,omitempty"`
	Replicas     []Replica            `json:"replicas"`
	Causes       []Cause              `json:"causes"`
	Advice       []string             `json:"advice"`
	Failures     []Failure            `json:"failures"`
	Events       []Event              `json:"events"`
	Steps        []Step               `json:"steps"`
	Views        []balancer.ViewEvent `json:"balancer_views"`
	MaxLag       time.Duration        `json:"max_observed_lag"`
}

// Clean reports whether nothing failed and nothing was lost or duplicated.
func (r *Result) Clean() bool {
	if r.Load.Failed > 0 || r.RolloutError != "" {
		return false
	}
	if v := r.Verification; v != nil && (v.Lost > 0 || v.Duplicated > 0) {
		return false
	}
	return true
}
