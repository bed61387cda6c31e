package render

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// synthetic builds a Timeline the way an adapter does, from a made-up
// drill: replicas replaced one by one under constant load, with failures
// (a fraction failRatio of the requests sent while a replica terminates).
// It is for tests of the renderers and for the size and speed benchmark;
// the end-to-end test renders a real drill.
func synthetic(names []string, requests int, failRatio float64) *Timeline {
	const replicas = 3
	dur := 20 * time.Second
	t := &Timeline{Title: "synthetic drill", Bucket: BucketFor(dur, DefaultMaxBuckets)}
	causes := []string{"listener-closed-before-balancer-caught-up", "in-flight-at-exit", "no-endpoint", "keep-alive-closed-under-request"}
	classes := []string{"reset", "EOF", "refused", "EOF"}
	for ri, name := range names {
		rng := rand.New(rand.NewPCG(uint64(ri)+1, 2))
		r := &Run{Name: name, Command: "demo " + name, Duration: dur, Pass: failRatio == 0, Verdict: "synthetic", Control: ri == 0 && len(names) > 1}
		// Old replicas r-1..r-3 start at 0 and are replaced from 4s on,
		// one every 4s, by r-4..r-6.
		type life struct{ start, ready, del, exit time.Duration }
		var lifes []life
		for i := range 2 * replicas {
			var l life
			if i < replicas {
				l = life{0, 300 * time.Millisecond, time.Duration(4+4*i)*time.Second + 500*time.Millisecond, time.Duration(4+4*i)*time.Second + 1800*time.Millisecond}
			} else {
				s := time.Duration(4+4*(i-replicas)) * time.Second
				l = life{s, s + 400*time.Millisecond, 0, 0}
			}
			lifes = append(lifes, l)
			lane := &Lane{Replica: fmt.Sprintf("r-%d", i+1), Revision: 1 + i/replicas}
			lane.Events = []Event{{At: l.start, Kind: EventStarted}, {At: l.ready, Kind: EventReady}}
			if l.del > 0 {
				lane.Events = append(lane.Events,
					Event{At: l.del, Kind: EventDeleted},
					Event{At: l.del + 100*time.Millisecond, Kind: EventPreStopDone},
					Event{At: l.del + 100*time.Millisecond, Kind: EventSignal, Detail: "SIGTERM"},
					Event{At: l.del + 200*time.Millisecond, Kind: EventPhase, Detail: "NotReady"},
					Event{At: l.exit, Kind: EventExited, Detail: "exit code 0"})
				if ri == 0 && len(names) > 1 && i == 1 {
					lane.Events = append(lane.Events, Event{At: l.exit - 10*time.Millisecond, Kind: EventSIGKILL})
				}
				r.Steps = append(r.Steps, Step{At: l.del, Rollout: 1, Action: "delete", Replica: lane.Replica})
			}
			if i >= replicas {
				r.Steps = append(r.Steps, Step{At: l.start, Rollout: 1, Action: "create", Replica: lane.Replica})
			}
			r.Lanes = append(r.Lanes, lane)
		}
		r.Rollouts = []Rollout{{Index: 1, Start: 4 * time.Second, End: 14 * time.Second}}
		for n := range 2 {
			node := Node{Node: n}
			for i := range replicas {
				l := lifes[i]
				lag := time.Duration(200+rng.IntN(600)) * time.Millisecond
				node.Changes = append(node.Changes, ViewChange{Replica: fmt.Sprintf("r-%d", i+1), Change: "terminating", Changed: l.del, Applied: l.del + lag})
				r.MaxLag = max(r.MaxLag, lag)
				a := lifes[i+replicas]
				node.Changes = append(node.Changes, ViewChange{Replica: fmt.Sprintf("r-%d", i+replicas+1), Change: "ready", Changed: a.ready, Applied: a.ready + lag/2})
			}
			r.Nodes = append(r.Nodes, node)
		}
		c := NewCounter(r, t.Bucket)
		counts := map[string]int64{}
		for q := range requests {
			sent := time.Duration(int64(q) * int64(dur) / int64(requests))
			// Pick a live replica.
			var live []int
			for i, l := range lifes {
				if sent >= l.ready && (l.del == 0 || sent < l.exit) {
					live = append(live, i)
				}
			}
			if len(live) == 0 {
				continue
			}
			i := live[rng.IntN(len(live))]
			l := lifes[i]
			name := fmt.Sprintf("r-%d", i+1)
			failed := l.del > 0 && sent >= l.del && rng.Float64() < failRatio
			r.Sent++
			if !failed {
				r.Succeeded++
				c.Request(name, sent, false)
				continue
			}
			k := rng.IntN(len(causes))
			replica := name
			if causes[k] == "no-endpoint" {
				replica = ""
			}
			c.Request(replica, sent, true)
			r.Failed++
			counts[causes[k]]++
			r.Failures = append(r.Failures, Failure{
				At: sent, Latency: time.Duration(rng.IntN(50000)) * time.Microsecond, Replica: replica,
				Class: classes[k], Cause: causes[k], Node: rng.IntN(2), Conn: "reused",
				Error:  "read tcp 127.0.0.1:40000->127.0.0.1:41000: read: connection reset by peer",
				Moment: fmt.Sprintf("rollout 1, while %s terminated", name), ID: fmt.Sprintf("%08x", q),
			})
		}
		c.Close()
		// The naive run loses the writes acknowledged by a replica in
		// its last 300ms, and duplicates one.
		if r.Control {
			for q := 0; q < 40; q++ {
				l := lifes[q%replicas]
				r.WriteIssues = append(r.WriteIssues, WriteIssue{At: l.exit - time.Duration(q)*7*time.Millisecond, Replica: fmt.Sprintf("r-%d", q%replicas+1), Kind: WriteLost, ID: fmt.Sprintf("lost-%d", q)})
			}
			r.WriteIssues = append(r.WriteIssues, WriteIssue{At: 5 * time.Second, Replica: "r-5", Kind: WriteDuplicated, ID: "dup-1", Committed: 2})
			r.Lost, r.Duplicated = 40, 1
		}
		for _, k := range causes {
			if counts[k] > 0 {
				r.Causes = append(r.Causes, Cause{Key: k, Count: counts[k], Explanation: "explanation of " + k, Advice: "advice for " + k})
			}
		}
		r.P99 = 12 * time.Millisecond
		if r.Failed > 0 {
			r.Verdict = fmt.Sprintf("FAIL: %d of %d requests failed", r.Failed, r.Sent)
		} else {
			r.Verdict = "PASS: nothing failed"
		}
		r.Writes = "124 acknowledged, 124 counted, 0 lost, 0 duplicated"
		t.Runs = append(t.Runs, r)
	}
	return t
}
