package kube

import (
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/kube/podload"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// TestRecorderRequestsAttempts: the earlier attempts of a retried request
// (lameduck load --retry) become its Retried on the drill's time base,
// with the policy's reason, the transport class the analysis knows and the
// local address it ties attempts to connections by; a record of a load
// without retries gets none.
func TestRecorderRequestsAttempts(t *testing.T) {
	rec := NewRecorder(at(0))
	recs := []podload.Record{
		{Seq: 1, ID: "r-1", Start: at(1), Latency: 1500 * time.Millisecond, Code: 200, Local: "10.244.0.9:40003", Conn: 3, Pod: "web-b",
			Attempts: []podload.Attempt{
				{Start: at(1), Latency: 2 * time.Millisecond, Err: "read tcp: connection reset by peer", Class: "reset",
					Local: "10.244.0.9:40001", Reused: true, Conn: 1, Reason: "connection_lost"},
				{Start: at(1).Add(100 * time.Millisecond), Latency: time.Millisecond, Err: "dial tcp 10.96.0.20:80: connect: connection refused",
					Class: "refused", DialFail: true, Reason: "unprocessed"},
				{Start: at(1).Add(300 * time.Millisecond), Latency: time.Millisecond, Code: 503, Class: "http-5xx",
					Local: "10.244.0.9:40002", Conn: 2, Pod: "web-a"}, // no reason: written as "unknown"
			}},
		{Seq: 2, ID: "r-2", Start: at(2), Latency: time.Millisecond, Code: 200, Local: "10.244.0.9:40003", Conn: 3, Pod: "web-b"},
		{Seq: 3, ID: "r-3", Start: at(3), Latency: 5 * time.Second, Err: "dial tcp 10.96.0.20:80: i/o timeout", Class: "timeout", DialFail: true,
			GaveUp: trace.GaveUpBudget, Attempts: []podload.Attempt{{Start: at(3), Latency: time.Second, Err: "dial tcp 10.96.0.20:80: i/o timeout",
				Class: "timeout", DialFail: true, Reason: "unprocessed"}}},
	}
	got := rec.Requests(recs)
	if len(got) != 3 || got[1].Retried != nil {
		t.Fatalf("requests %+v: want 3, the second without attempts", got)
	}
	if got[2].GaveUp != trace.GaveUpBudget || len(got[2].Retried) != 1 || got[2].Retried[0].Transport != trace.TransportTimeout {
		t.Errorf("r-3: %+v: want a timed-out dial retried, given up on the time budget", got[2])
	}
	q := got[0]
	if q.Start != time.Second || q.End != 2500*time.Millisecond || !q.Acked() || q.Local != "10.244.0.9:40003" {
		t.Errorf("r-1: %+v: the request spans its attempts, its fields are the last attempt's", q)
	}
	want := []trace.Attempt{
		{Start: time.Second, End: time.Second + 2*time.Millisecond, Error: "read tcp: connection reset by peer",
			Transport: trace.TransportReset, Local: "10.244.0.9:40001", Reason: "connection_lost"},
		{Start: 1100 * time.Millisecond, End: 1101 * time.Millisecond, Error: "dial tcp 10.96.0.20:80: connect: connection refused",
			Transport: trace.TransportRefused, Reason: "unprocessed"},
		{Start: 1300 * time.Millisecond, End: 1301 * time.Millisecond, Code: 503, Local: "10.244.0.9:40002", Reason: "unknown"},
	}
	if len(q.Retried) != len(want) {
		t.Fatalf("r-1 retried %+v, want %+v", q.Retried, want)
	}
	for i := range want {
		if q.Retried[i] != want[i] {
			t.Errorf("attempt %d: %+v, want %+v", i+1, q.Retried[i], want[i])
		}
	}
}

// TestRetriedTraceAnalyzes: a --kube --retry trace built from load
// records goes through the analysis's retry accounting: a request whose
// first attempt was reset on a pod's keep-alive connection and whose id the
// store committed twice is a write applied twice on retry, a request
// whose every attempt failed failed for good, and the retry report counts
// the attempts by reason.
func TestRetriedTraceAnalyzes(t *testing.T) {
	rec := NewRecorder(at(0))
	t0 := at(0)
	var recs []podload.Record
	add := func(r podload.Record) {
		r.Seq = uint64(len(recs) + 1)
		r.ID = "kd-" + string(rune('a'+len(recs)))
		recs = append(recs, r)
	}
	for i := range 10 {
		add(podload.Record{Start: t0.Add(time.Duration(i) * 100 * time.Millisecond), Latency: time.Millisecond, Code: 200,
			Conn: 1, Local: "10.244.0.9:40001", Reused: i > 0, Pod: "web-a"})
	}
	reset := podload.Attempt{Start: t0.Add(time.Second), Latency: time.Millisecond, Err: "read: connection reset by peer", Class: "reset",
		Local: "10.244.0.9:40001", Reused: true, Conn: 1, Reason: "connection_lost"}
	add(podload.Record{Start: reset.Start, Latency: 300 * time.Millisecond, Code: 200, Conn: 2, Local: "10.244.0.9:40002", Pod: "web-b",
		Attempts: []podload.Attempt{reset}})
	dup := recs[len(recs)-1].ID
	refused := podload.Attempt{Start: t0.Add(1100 * time.Millisecond), Latency: time.Millisecond, Err: "dial tcp: connect: connection refused",
		Class: "refused", DialFail: true, Reason: "unprocessed"}
	add(podload.Record{Start: refused.Start, Latency: 2 * time.Second, Err: "dial tcp: connect: connection refused", Class: "refused", DialFail: true,
		Attempts: []podload.Attempt{refused, refused, refused}})
	failed := recs[len(recs)-1].ID

	tr := &trace.Trace{Schema: trace.SchemaVersion, Epoch: t0, Name: "recorded", Backend: "kube", LoadStop: 4 * time.Second, End: 10 * time.Second,
		Settings: trace.Settings{Retry: true}, Rollouts: []trace.Rollout{{Started: time.Second, Completed: 3 * time.Second}}}
	tr.Requests = rec.Requests(recs)
	tr.Conns = rec.Connections(recs)
	committed := map[string]int64{}
	for _, q := range tr.Requests {
		if q.Acked() {
			committed[q.ID] = 1
		}
	}
	committed[dup] = 2
	tr.Ledger = &trace.Ledger{Source: "test", Committed: committed}
	rec.Fill(tr)
	res := analysis.Analyze(tr)

	if rr := res.Retry; rr == nil || rr.Requests != 2 || rr.Attempts != 4 || rr.Saved != 1 || rr.FailedForGood != 1 ||
		rr.ByReason["connection_lost"] != 1 || rr.ByReason["unprocessed"] != 3 {
		t.Errorf("retry report %+v: want 2 retried requests, 4 attempts (1 connection_lost, 3 unprocessed), 1 saved, 1 failed for good", rr)
	}
	if len(res.Failures) != 1 || res.Failures[0].ID != failed || res.Failures[0].Cause != analysis.CauseFailedForGood {
		t.Errorf("failures %+v: want %s %s", res.Failures, failed, analysis.CauseFailedForGood)
	}
	if l := res.Ledger; l == nil || l.Duplicated != 1 || l.Lost != 0 || len(l.Examples) != 1 ||
		l.Examples[0].ID != dup || l.Examples[0].Cause != analysis.CauseDupRetry {
		t.Errorf("ledger %+v: want %s duplicated, %s", l, dup, analysis.CauseDupRetry)
	}
	if res.Verdict.Pass || !strings.Contains(res.Verdict.Summary, "FAIL") {
		t.Errorf("verdict %+v: a duplicated write and a failure fail the drill", res.Verdict)
	}
}

// TestConnectionsOfFlattenedAttempts: the load's connections seen from
// every attempt (podload.Flatten): a reset on a retried attempt cuts its
// pod's connection, and a connection only an attempt used is tied to the
// pod its answer named; from the requests' last attempts alone, neither
// shows.
func TestConnectionsOfFlattenedAttempts(t *testing.T) {
	rec := NewRecorder(at(0))
	t0 := at(0)
	recs := []podload.Record{
		{Seq: 1, ID: "f-1", Start: t0, Latency: time.Millisecond, Code: 200, Conn: 1, Local: "l:1", Pod: "web-a"},
		{Seq: 2, ID: "f-2", Start: t0.Add(time.Second), Latency: 1500 * time.Millisecond, Code: 200, Conn: 3, Local: "l:3", Pod: "web-b",
			LastStart: t0.Add(2400 * time.Millisecond),
			Attempts: []podload.Attempt{
				{Start: t0.Add(time.Second), Latency: time.Millisecond, Err: "read: connection reset by peer", Class: "reset", Conn: 1, Local: "l:1", Reused: true, Reason: "connection_lost"},
				{Start: t0.Add(1100 * time.Millisecond), Latency: time.Millisecond, Code: 503, Class: "http-5xx", Conn: 2, Local: "l:2", Pod: "web-c", Reason: "retry_after"},
			}},
	}
	byID := func(cs []trace.Conn) map[uint64]trace.Conn {
		m := map[uint64]trace.Conn{}
		for _, c := range cs {
			m[c.ID] = c
		}
		return m
	}
	last := byID(rec.Connections(recs))
	if len(last) != 2 || last[1].BackendClose != "" {
		t.Errorf("from the last attempts: %+v; want connections 1 and 3, 1 not cut", last)
	}
	all := byID(rec.Connections(podload.Flatten(recs)))
	if len(all) != 3 || all[1].Replica != "web-a" || all[1].BackendClose != trace.CloseReset || all[1].BackendClosed != time.Second+time.Millisecond ||
		all[2].Replica != "web-c" || all[3].Replica != "web-b" || all[3].Accepted != 2400*time.Millisecond {
		t.Errorf("from every attempt: %+v; want 1 (web-a) cut by the reset at 1.001s, 2 on web-c, 3 on web-b from 2.4s", all)
	}
}
