package render

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/chromiumtest"
	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/report"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// syntheticTrace makes up a drill's trace (no drill runs): requests at a
// constant rate over 64 keep-alive clients, 3 replicas replaced one by one
// in one rollout, 3 balancer nodes. A request sent to a replica in the
// last failWindow before its exit is reset with probability failP (and
// the client stays on that replica: a balancer that keeps routing to it). The
// analysis then runs on it as on a recorded trace. It feeds the size and
// speed benchmarks: a real 100,000-request drill takes minutes and its
// failures cannot be dialled in.
func syntheticTrace(name string, requests, rate int, failWindow time.Duration, failP float64) *trace.Trace {
	rng := rand.New(rand.NewPCG(uint64(requests), uint64(failP*1000)))
	dur := time.Duration(requests) * time.Second / time.Duration(rate)
	tr := &trace.Trace{
		Schema: trace.SchemaVersion, Name: name, Backend: "synthetic",
		Settings: trace.Settings{Command: []string{"synthetic"}, Replicas: 3, MaxSurge: "25%", MaxUnavailable: "25%",
			Rollouts: 1, Readiness: "/healthz", Grace: 30 * time.Second, StopSignal: "SIGTERM", Profile: "kube-proxy",
			LagMin: 200 * time.Millisecond, LagMax: time.Second, Nodes: 3, Protocol: "http", Method: "POST", Path: "/incr", Rate: rate, Timeout: 10 * time.Second},
		LoadStart: 500 * time.Millisecond, LoadStop: dur + 500*time.Millisecond, End: dur + 1500*time.Millisecond,
	}
	// Old replicas 0..2 run from 0; replica i is deleted at (i+1)/4 of the
	// run, its successor created 2s before; each exits 2s (or failWindow)
	// after its deletion.
	type life struct {
		name        string
		start, del  time.Duration
		ready, exit time.Duration
	}
	var lives []life
	for i := range 3 {
		del := dur * time.Duration(i+1) / 4
		lives = append(lives, life{name: fmt.Sprintf("r0-%d", i+1), start: 0, ready: 300 * time.Millisecond, del: del, exit: del + max(2*time.Second, failWindow)})
		lives = append(lives, life{name: fmt.Sprintf("r1-%d", i+4), start: del - 2*time.Second, ready: del - 1500*time.Millisecond})
	}
	tr.Rollouts = []trace.Rollout{{Index: 1, Started: lives[1].start, Completed: lives[4].exit}}
	for _, l := range lives {
		rp := trace.Replica{Name: l.name, Revision: 1, Started: l.start, Ready: l.ready, ExitCode: 0, ProbeKind: "http"}
		if l.del > 0 {
			rp.Revision = 0
			rp.Terminating, rp.PreStopDone, rp.SignalSent, rp.Signal, rp.Exited = l.del, l.del, l.del, "SIGTERM", l.exit
			tr.Steps = append(tr.Steps, trace.Step{At: l.del, Rollout: 1, Action: trace.StepDelete, Replica: l.name})
			for n := range 3 {
				lag := time.Duration(200+rng.IntN(800)) * time.Millisecond
				tr.Views = append(tr.Views,
					trace.View{Node: n, Replica: l.name, Serving: true, Terminating: true, Changed: l.del, Applied: l.del + lag},
					trace.View{Node: n, Replica: l.name, Removed: true, Terminating: true, Changed: l.exit, Applied: l.exit + lag})
			}
		} else {
			tr.Steps = append(tr.Steps, trace.Step{At: l.start, Rollout: 1, Action: trace.StepCreate, Replica: l.name})
			rp.StoppedAtEnd, rp.Exited = true, tr.End
		}
		tr.Replicas = append(tr.Replicas, rp)
	}
	live := func(t time.Duration) []int {
		var out []int
		for i, l := range lives {
			// Balancers keep routing new connections to a deleted
			// replica until it exits (a slow endpoint removal).
			if t >= l.ready && (l.exit == 0 || t < l.exit) {
				out = append(out, i)
			}
		}
		return out
	}
	const clients = 64
	cur := make([]int, clients) // the client's connection's replica; -1 none
	connOf := make([]uint64, clients)
	for c := range cur {
		cur[c] = -1
	}
	for q := range requests {
		start := 500*time.Millisecond + time.Duration(q)*time.Second/time.Duration(rate)
		c := q % clients
		local := fmt.Sprintf("127.0.0.1:%d", 40000+c)
		if i := cur[c]; i < 0 || (lives[i].exit > 0 && start >= lives[i].exit) {
			ls := live(start)
			cur[c] = ls[rng.IntN(len(ls))]
			connOf[c] = uint64(len(tr.Conns) + 1)
			tr.Conns = append(tr.Conns, trace.Conn{ID: connOf[c], Client: local, Node: rng.IntN(3), Replica: lives[cur[c]].name,
				Outcome: trace.OutcomeForwarded, Accepted: start - time.Microsecond})
		}
		req := trace.Request{Seq: uint64(q + 1), ID: fmt.Sprintf("synthetic-%d", q+1), Start: start, Local: local, Reused: true}
		l := lives[cur[c]]
		if l.exit > 0 && start >= l.exit-failWindow && rng.Float64() < failP {
			req.End = start + 3*time.Millisecond
			req.Error = fmt.Sprintf("Post \"http://127.0.0.1:30000/incr\": read tcp %s->127.0.0.1:30000: read: connection reset by peer", local)
			req.Transport = trace.TransportReset
		} else {
			req.End = start + time.Duration(1000+rng.IntN(3000))*time.Microsecond
			req.Code = 200
		}
		tr.Requests = append(tr.Requests, req)
	}
	return tr
}

func syntheticRuns(requests int, failWindow time.Duration, failP float64) []report.Run {
	tr := syntheticTrace("synthetic", requests, 1000, failWindow, failP)
	return []report.Run{{Result: analysis.Analyze(tr), Trace: tr}}
}

// benchCases are the 100,000-request runs of the benchmarks: clean, a
// few failures, and many.
var benchCases = []struct {
	name   string
	window time.Duration
	p      float64
}{
	{"clean", 0, 0},
	{"1k-failures", 2 * time.Second, 0.5},
	{"10k-failures", 30 * time.Second, 0.5},
}

// BenchmarkHTML100k renders a 100,000-request run (FromDrill and WriteHTML)
// and reports the page's size, raw and gzipped.
func BenchmarkHTML100k(b *testing.B) {
	for _, bc := range benchCases {
		runs := syntheticRuns(100_000, bc.window, bc.p)
		b.Run(bc.name, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := WriteHTML(&buf, FromDrill(runs)); err != nil {
					b.Fatal(err)
				}
			}
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(buf.Bytes())
			zw.Close()
			b.ReportMetric(float64(buf.Len()), "page-bytes")
			b.ReportMetric(float64(z.Len()), "gzip-bytes")
			b.ReportMetric(float64(runs[0].Load.Failed), "failures")
		})
	}
}

// BenchmarkChromiumLoad100k loads each 100,000-request page in headless
// Chromium (a new browser per iteration) next to a 100-request page, and
// reports what the page itself measured: the time from navigation to its
// script (fetching and parsing the HTML and SVG) and a forced layout. The
// wall time per iteration is mostly Chromium starting.
func BenchmarkChromiumLoad100k(b *testing.B) {
	dir := b.TempDir()
	pages := []struct{ name, file string }{}
	write := func(name string, runs []report.Run) {
		file := filepath.Join(dir, name+".html")
		f, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteHTML(f, FromDrill(runs)); err != nil {
			b.Fatal(err)
		}
		f.Close()
		pages = append(pages, struct{ name, file string }{name, file})
	}
	write("baseline-100-requests", syntheticRuns(100, 0, 0))
	for _, bc := range benchCases {
		write(bc.name, syntheticRuns(100_000, bc.window, bc.p))
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			parse, layout := math.Inf(1), math.Inf(1)
			for b.Loop() {
				body := chromiumtest.All(chromiumtest.Parse(b, chromiumtest.DumpDOMAtLoad(b, "file://"+p.file)), chromiumtest.Elem("body"))
				pm, err1 := strconv.ParseFloat(chromiumtest.Attr(body[0], "data-parse-ms"), 64)
				lm, err2 := strconv.ParseFloat(chromiumtest.Attr(body[0], "data-layout-ms"), 64)
				if err1 != nil || err2 != nil {
					b.Fatalf("the page recorded no timings: %v %v", err1, err2)
				}
				parse, layout = min(parse, pm), min(layout, lm)
			}
			// The minimum: the machine is shared, and noise only adds.
			b.ReportMetric(parse, "min-parse-ms")
			b.ReportMetric(layout, "min-layout-ms")
		})
	}
}

// TestSyntheticTrace: the benchmarks' trace analyses as intended (the
// failures it makes are counted, attributed to the dying replica), and its
// page has one mark per failure.
func TestSyntheticTrace(t *testing.T) {
	runs := syntheticRuns(20_000, 2*time.Second, 0.5)
	res := runs[0].Result
	if res.Load.Sent != 20_000 || res.Load.Failed == 0 || res.Load.Failed != int64(len(res.Failures)) {
		t.Fatalf("sent %d, failed %d, %d failures listed", res.Load.Sent, res.Load.Failed, len(res.Failures))
	}
	tl := FromDrill(runs)
	var served, failed int64
	for _, l := range append(tl.Runs[0].Lanes, tl.Runs[0].Unrouted) {
		if l != nil {
			served += l.Served
			failed += l.FailedTotal
		}
	}
	if served != res.Load.Succeeded || failed != res.Load.Failed {
		t.Errorf("lanes count %d served and %d failed; the analysis %d and %d", served, failed, res.Load.Succeeded, res.Load.Failed)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, tl); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte(`<use href="#fm"`)); n != len(res.Failures) {
		t.Errorf("%d failure marks for %d failures", n, len(res.Failures))
	}
}
