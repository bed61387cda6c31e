// Package render turns a drill into what people and CI systems read: a
// self-contained HTML timeline (inline SVG drawn in Go and a few lines of
// inline JavaScript for hover details; no CDN, no chart library), JUnit XML
// (one test case per rollout of each run) and a Markdown summary for
// $GITHUB_STEP_SUMMARY.
//
// Every renderer reads a [Timeline], the view model: exactly what the page
// draws, already aggregated. Requests are counted per replica in time
// buckets (a 100,000-request run draws a few hundred bars per replica, not
// 100,000 marks); failures stay individual, one mark each, with their
// details and attribution in a compact table the page's script reads on
// hover. The adapter from a drill's result lives in drill.go.
//
// The package does not run drills, judge them or attribute failures: the
// verdicts and causes it shows are the drill's.
package render

import (
	"slices"
	"time"
)

// Timeline is everything one report page shows: one or more runs (the demo
// has two, naive and lameduck) drawn on the same time scale.
type Timeline struct {
	Title string `json:"title"`
	// Bucket is the width of one request-count bar, shared by every run.
	Bucket time.Duration `json:"bucket"`
	Runs   []*Run        `json:"runs"`
}

// Run is one drill run: its verdict, figures and lanes.
type Run struct {
	Name     string   `json:"name"`
	Command  string   `json:"command,omitempty"`
	Settings []string `json:"settings,omitempty"` // header lines, in words
	// Pass is the drill's verdict for the run; Verdict says why in words.
	Pass    bool   `json:"pass"`
	Verdict string `json:"verdict"`
	// Control marks a run expected to fail (the demo's naive service):
	// its failures are shown, but JUnit reports them as skipped, not as
	// failures, matching the drill's exit code.
	Control bool `json:"control,omitempty"`
	// Duration is the end of the run's time axis, since the drill's start.
	Duration time.Duration `json:"duration"`

	Sent      int64 `json:"sent"`
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
	// Writes is the store verification in words ("" when none was made);
	// Lost and Duplicated are its counts.
	Writes     string        `json:"writes,omitempty"`
	Lost       int64         `json:"lost"`
	Duplicated int64         `json:"duplicated"`
	P99        time.Duration `json:"p99"`
	MaxLag     time.Duration `json:"max_lag"`

	Rollouts []Rollout `json:"rollouts"`
	Steps    []Step    `json:"steps"`
	// Lanes has one lane per replica, in start order. Requests that reached
	// no replica are drawn in an extra lane (Unrouted).
	Lanes    []*Lane   `json:"lanes"`
	Unrouted *Lane     `json:"unrouted,omitempty"`
	Nodes    []Node    `json:"nodes"`
	Causes   []Cause   `json:"causes"`
	Failures []Failure `json:"failures"`
	// WriteIssues are the acknowledged writes the store lost and the
	// writes it committed more than once (the ledger, by request id).
	WriteIssues []WriteIssue `json:"write_issues,omitempty"`
	// Notes are caveats shown under the run's header.
	Notes []string `json:"notes,omitempty"`
}

// Rollout is one rolling update; End is 0 when it did not complete.
type Rollout struct {
	Index int           `json:"index"`
	Start time.Duration `json:"start"`
	End   time.Duration `json:"end"`
	// Error says why the rollout did not complete, if it did not.
	Error string `json:"error,omitempty"`
}

// Step is one rollout step: a replica created or deleted.
type Step struct {
	At      time.Duration `json:"at"`
	Rollout int           `json:"rollout"`
	Action  string        `json:"action"` // "create" or "delete"
	Replica string        `json:"replica"`
}

// Event kinds of a replica's lifecycle, as drawn.
const (
	EventStarted     = "started"
	EventReady       = "ready"
	EventUnready     = "unready"
	EventDeleted     = "deleted" // the rollout deleted it: endpoint removal and preStop begin
	EventPreStopDone = "prestop-done"
	EventSignal      = "signal" // the stop signal
	EventSIGKILL     = "sigkill"
	EventExited      = "exited"
	EventPhase       = "phase" // a phase the service logged; Detail names it
)

// Event is one point of a replica's lifecycle.
type Event struct {
	At     time.Duration `json:"at"`
	Kind   string        `json:"kind"`
	Detail string        `json:"detail,omitempty"`
}

// Lane is one replica: its lifecycle and the requests it served, counted
// per bucket.
type Lane struct {
	Replica  string  `json:"replica"`
	Revision int     `json:"revision"`
	Events   []Event `json:"events"`
	// OK and Failed count the requests sent in each bucket (index i covers
	// [i*Bucket, (i+1)*Bucket)) that this replica answered or failed.
	OK     []int32 `json:"ok"`
	Failed []int32 `json:"failed"`
	// Served and FailedTotal are the lane's totals.
	Served      int64 `json:"served"`
	FailedTotal int64 `json:"failed_total"`
	// Counted is false when the source held no per-request data for
	// successes (OK is then empty and only failures are drawn).
	Counted bool `json:"counted"`
}

// Node is one balancer node's view of the endpoints: when it applied each
// change, and so how late it stopped sending traffic to a deleted replica.
type Node struct {
	Node    int          `json:"node"`
	Changes []ViewChange `json:"changes"`
}

// ViewChange is one endpoint change as one node applied it.
type ViewChange struct {
	Replica string        `json:"replica"`
	Change  string        `json:"change"` // "added", "ready", "terminating", "removed"
	Changed time.Duration `json:"changed"`
	Applied time.Duration `json:"applied"`
}

// Lag is how long the node took to apply the change.
func (c ViewChange) Lag() time.Duration { return c.Applied - c.Changed }

// Cause is one attributed cause of failures, with the drill's explanation.
type Cause struct {
	Key         string `json:"key"`
	Count       int64  `json:"count"`
	Explanation string `json:"explanation,omitempty"`
	Advice      string `json:"advice,omitempty"`
}

// Failure is one failed request.
type Failure struct {
	At      time.Duration `json:"at"` // sent, since the drill's start
	Latency time.Duration `json:"latency"`
	Replica string        `json:"replica,omitempty"` // "" when it reached none
	Class   string        `json:"class"`
	Cause   string        `json:"cause"`
	Code    int           `json:"code,omitempty"`
	Error   string        `json:"error,omitempty"`
	Node    int           `json:"node"`
	Conn    string        `json:"conn,omitempty"` // "reused" or "new", "" unknown
	Moment  string        `json:"moment,omitempty"`
	ID      string        `json:"id,omitempty"`
}

// Write issue kinds.
const (
	WriteLost       = "lost"       // acknowledged, never committed
	WriteDuplicated = "duplicated" // committed more than once
)

// WriteIssue is one request whose write the store got wrong.
type WriteIssue struct {
	At        time.Duration `json:"at"` // sent
	Replica   string        `json:"replica,omitempty"`
	Kind      string        `json:"kind"` // WriteLost or WriteDuplicated
	ID        string        `json:"id"`
	Committed int64         `json:"committed"`
}

// Counter counts requests into a run's lanes, one bucket at a time. Use it
// from adapters: Request for each request, then Close.
type Counter struct {
	bucket time.Duration
	run    *Run
	lanes  map[string]*Lane
}

// NewCounter returns a Counter for run with the given bucket width; it
// creates a lane for every replica it has not seen yet (in call order).
func NewCounter(run *Run, bucket time.Duration) *Counter {
	c := &Counter{bucket: bucket, run: run, lanes: map[string]*Lane{}}
	for _, l := range run.Lanes {
		c.lanes[l.Replica] = l
	}
	return c
}

// Lane returns the lane of replica ("" is the unrouted lane), creating it.
func (c *Counter) Lane(replica string) *Lane {
	if replica == "" {
		if c.run.Unrouted == nil {
			c.run.Unrouted = &Lane{Replica: ""}
		}
		return c.run.Unrouted
	}
	l := c.lanes[replica]
	if l == nil {
		l = &Lane{Replica: replica}
		c.lanes[replica] = l
		c.run.Lanes = append(c.run.Lanes, l)
	}
	return l
}

// Request counts one request sent at at, answered by replica ("" when it
// reached none), failed or not.
func (c *Counter) Request(replica string, at time.Duration, failed bool) {
	l := c.Lane(replica)
	i := 0
	if at > 0 && c.bucket > 0 {
		i = int(at / c.bucket)
	}
	if i >= len(l.OK) {
		n := max(i+1, 2*len(l.OK))
		l.OK = slices.Grow(l.OK, n-len(l.OK))[:n]
		l.Failed = slices.Grow(l.Failed, n-len(l.Failed))[:n]
	}
	l.Counted = true
	if failed {
		l.Failed[i]++
		l.FailedTotal++
	} else {
		l.OK[i]++
		l.Served++
	}
}

// Close trims the lanes' bucket slices to the run's duration.
func (c *Counter) Close() {
	n := 0
	if c.bucket > 0 {
		n = int(c.run.Duration/c.bucket) + 1
	}
	trim := func(l *Lane) {
		if l == nil {
			return
		}
		for len(l.OK) > n && l.OK[len(l.OK)-1] == 0 && l.Failed[len(l.Failed)-1] == 0 {
			l.OK, l.Failed = l.OK[:len(l.OK)-1], l.Failed[:len(l.Failed)-1]
		}
	}
	for _, l := range c.run.Lanes {
		trim(l)
	}
	trim(c.run.Unrouted)
}

// BucketFor returns the bucket width for runs as long as longest: the
// smallest round duration (at least 1ms) that gives fewer than maxBuckets
// bars.
func BucketFor(longest time.Duration, maxBuckets int) time.Duration {
	steps := []time.Duration{
		time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
		10 * time.Millisecond, 20 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute,
	}
	for _, s := range steps {
		if longest/s < time.Duration(maxBuckets) {
			return s
		}
	}
	b := time.Minute
	for longest/b >= time.Duration(maxBuckets) {
		b *= 2
	}
	return b
}

// DefaultMaxBuckets bounds the bars per lane whatever the run's length.
const DefaultMaxBuckets = 300
