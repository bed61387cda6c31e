package render

import (
	"cmp"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Geometry of a run's SVG, in CSS pixels of its viewBox.
const (
	gutter     = 132 // lane labels
	plotWidth  = 1000
	rightPad   = 24
	svgWidth   = gutter + plotWidth + rightPad
	axisHeight = 22
	stepsRow   = 22 // rollout steps
	laneHeight = 58
	histHeight = 24
	nodeHeight = 18
)

// palette colours failure causes, in order of first appearance on the page.
var palette = []string{
	"#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
	"#17becf", "#bcbd22", "#1f77b4", "#7f7f7f", "#393b79",
}

// svgWriter draws one run.
type svgWriter struct {
	b       *strings.Builder
	run     *Run
	axis    time.Duration // the page's longest run: the x scale
	bucket  time.Duration
	causeIx map[string]int
}

func (w *svgWriter) x(t time.Duration) float64 {
	if w.axis <= 0 {
		return gutter
	}
	return gutter + float64(t)/float64(w.axis)*plotWidth
}

func (w *svgWriter) printf(format string, args ...any) { fmt.Fprintf(w.b, format, args...) }

// f formats a coordinate with at most one decimal.
func f(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// at formats a time since the drill's start.
func at(d time.Duration) string { return fmt.Sprintf("+%.3fs", d.Seconds()) }

func attr(s string) string { return html.EscapeString(s) }

// laneOf is the index of replica's lane: len(r.Lanes), the unrouted lane,
// when it has none.
func laneOf(r *Run, replica string) int {
	if replica != "" {
		for i, l := range r.Lanes {
			if l.Replica == replica {
				return i
			}
		}
	}
	return len(r.Lanes)
}

// writeOrder is the order write marks are drawn in, and of their details
// table: lane by lane, then by time.
func writeOrder(r *Run) []WriteIssue {
	lane := map[string]int{}
	for _, wi := range r.WriteIssues {
		lane[wi.Replica] = laneOf(r, wi.Replica)
	}
	ws := slices.Clone(r.WriteIssues)
	slices.SortStableFunc(ws, func(a, b WriteIssue) int {
		if c := lane[a.Replica] - lane[b.Replica]; c != 0 {
			return c
		}
		return cmp.Compare(a.At, b.At)
	})
	return ws
}

// markOrder is the order failure marks are drawn in, and so the order of
// the details table the page's script reads: lane by lane, cause by cause,
// then by time.
func markOrder(r *Run) []Failure {
	lane := map[string]int{}
	for i, l := range r.Lanes {
		lane[l.Replica] = i
	}
	ix := func(f Failure) int {
		if i, ok := lane[f.Replica]; ok && f.Replica != "" {
			return i
		}
		return len(r.Lanes)
	}
	fs := slices.Clone(r.Failures)
	slices.SortStableFunc(fs, func(a, b Failure) int {
		if c := ix(a) - ix(b); c != 0 {
			return c
		}
		if c := strings.Compare(a.Cause, b.Cause); c != 0 {
			return c
		}
		return cmp.Compare(a.At, b.At)
	})
	return fs
}

// draw writes the run's SVG.
func (w *svgWriter) draw(runIndex int) {
	r := w.run
	lanes := slices.Clone(r.Lanes)
	// Failures of replicas without a lane go to the unrouted lane.
	known := map[string]bool{}
	for _, l := range lanes {
		known[l.Replica] = true
	}
	unrouted := r.Unrouted
	for _, fl := range r.Failures {
		if !known[fl.Replica] && unrouted == nil {
			unrouted = &Lane{}
		}
	}
	for _, wi := range r.WriteIssues {
		if !known[wi.Replica] && unrouted == nil {
			unrouted = &Lane{}
		}
	}
	if unrouted != nil {
		lanes = append(lanes, unrouted)
	}
	top := axisHeight
	lanesTop := top + stepsRow
	nodesTop := lanesTop + len(lanes)*laneHeight
	bottom := nodesTop + len(r.Nodes)*nodeHeight + 16 // room for the rollout labels
	height := bottom + axisHeight

	w.printf(`<svg class="timeline" data-run="%d" data-failed="%d" data-writes="%d" data-lanes="%d" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		runIndex, r.Failed, len(r.WriteIssues), len(r.Lanes), svgWidth, height, svgWidth, height, attr("timeline of run "+r.Name))

	// Rollout bands behind everything.
	w.printf(`<g class="rollouts">`)
	for _, ro := range r.Rollouts {
		end := ro.End
		if end == 0 {
			end = r.Duration
		}
		tip := fmt.Sprintf("rollout %d: %s → %s", ro.Index, at(ro.Start), at(ro.End))
		if ro.End == 0 {
			tip = fmt.Sprintf("rollout %d: started %s, did not complete", ro.Index, at(ro.Start))
		}
		if ro.Error != "" {
			tip += ": " + ro.Error
		}
		w.printf(`<rect class="rollout" x="%s" y="%d" width="%s" height="%d" data-tip="%s"/>`,
			f(w.x(ro.Start)), top, f(max(w.x(end)-w.x(ro.Start), 1)), bottom-top, attr(tip))
		w.printf(`<text class="rl" x="%s" y="%d">rollout %d</text>`, f(w.x(ro.Start)+3), bottom-4, ro.Index)
	}
	w.printf(`</g>`)

	w.axisAt(top, true, bottom)
	w.axisAt(bottom, false, 0)

	// Rollout steps.
	w.printf(`<g class="steps"><text class="lbl" x="%d" y="%d">rollout steps</text>`, gutter-8, top+15)
	for _, s := range r.Steps {
		sym, verb := "s-create", "created"
		if s.Action == "delete" {
			sym, verb = "s-delete", "deleted"
		}
		w.printf(`<use href="#%s" class="step" x="%s" y="%d" data-tip="%s"/>`, sym, f(w.x(s.At)), top+11,
			attr(fmt.Sprintf("rollout %d: %s %s at %s", s.Rollout, verb, s.Replica, at(s.At))))
	}
	w.printf(`</g>`)

	// The histogram's scale: the busiest bucket of any lane of the run.
	peak := int32(1)
	for _, l := range lanes {
		for i := range l.OK {
			peak = max(peak, l.OK[i]+l.Failed[i])
		}
		for i := range l.Failed {
			peak = max(peak, l.Failed[i])
		}
	}
	fs := markOrder(r)
	next := 0
	ws := writeOrder(r)
	nextW := 0
	for i, l := range lanes {
		y := lanesTop + i*laneHeight
		cls, name, sub := "lane replica", l.Replica, fmt.Sprintf("rev %d · %d ok", l.Revision, l.Served)
		if l == unrouted {
			cls, name, sub = "lane unrouted", "no replica", "refused, reset"
		}
		if !l.Counted {
			sub = fmt.Sprintf("rev %d", l.Revision)
		}
		failedHere := 0
		for j := next; j < len(fs); j++ {
			if l == unrouted || fs[j].Replica == l.Replica {
				failedHere++
			} else {
				break
			}
		}
		var bad []string
		if failedHere > 0 {
			bad = append(bad, fmt.Sprintf("%d failed", failedHere))
		}
		if n := countWrites(ws, r, i); n > 0 {
			bad = append(bad, fmt.Sprintf("%d bad writes", n))
		}
		w.printf(`<g class="%s" data-replica="%s"><line class="sep" x1="0" x2="%d" y1="%d" y2="%d"/>`, cls, attr(l.Replica), svgWidth, y+laneHeight, y+laneHeight)
		w.printf(`<text class="name" x="%d" y="%d">%s</text><text class="sub" x="%d" y="%d">%s</text>`,
			gutter-8, y+20, attr(name), gutter-8, y+33, attr(sub))
		if len(bad) > 0 {
			w.printf(`<text class="sub bad" x="%d" y="%d">%s</text>`, gutter-8, y+45, attr(strings.Join(bad, " · ")))
		}
		w.histogram(l, y+2+histHeight, peak)
		if l != unrouted {
			w.lifecycle(l, y+histHeight+4)
		}
		// One mark per failure.
		w.printf(`<g class="fails" transform="translate(0 %d)">`, y+histHeight+13)
		// The marks of one cause share a group that colours them; x is
		// rounded to whole pixels (a 100,000-request run can have tens of
		// thousands of marks).
		cause := ""
		for end := next + failedHere; next < end; next++ {
			if fl := fs[next]; fl.Cause != cause || next == end-failedHere {
				if next != end-failedHere {
					w.printf(`</g>`)
				}
				cause = fl.Cause
				w.printf(`<g class="c%d" data-cause="%s">`, w.causeIx[cause], attr(cause))
			}
			w.printf(`<use href="#fm" x="%d"/>`, int(math.Round(w.x(fs[next].At))))
		}
		if failedHere > 0 {
			w.printf(`</g>`)
		}
		w.printf(`</g>`)
		// One mark per write the store lost or duplicated.
		if nextW < len(ws) && laneOf(r, ws[nextW].Replica) == i {
			w.printf(`<g class="writes" transform="translate(0 %d)">`, y+histHeight+27)
			for ; nextW < len(ws) && laneOf(r, ws[nextW].Replica) == i; nextW++ {
				w.printf(`<use href="#w-%s" x="%d"/>`, ws[nextW].Kind, int(math.Round(w.x(ws[nextW].At))))
			}
			w.printf(`</g>`)
		}
		w.printf(`</g>`)
	}

	// Balancer nodes: how late each applied each endpoint change.
	for i, n := range r.Nodes {
		y := nodesTop + i*nodeHeight
		var worst time.Duration
		for _, c := range n.Changes {
			if removal(c.Change) {
				worst = max(worst, c.Lag())
			}
		}
		w.printf(`<g class="node" data-node="%d"><text class="sub" x="%d" y="%d"><tspan class="name">node %d</tspan> · max lag %s</text>`,
			n.Node, gutter-8, y+12, n.Node, attr(shortDur(worst)))
		for _, c := range n.Changes {
			cls := "vadd"
			verb := "started routing to"
			if removal(c.Change) {
				cls, verb = "vdel", "stopped routing new connections to"
			}
			w.printf(`<rect class="%s" x="%s" y="%d" width="%s" height="9" data-tip="%s"/>`, cls,
				f(w.x(c.Changed)), y+4, f(max(w.x(c.Applied)-w.x(c.Changed), 1.5)),
				attr(fmt.Sprintf("node %d %s %s (%s) at %s, %s after the change at %s",
					n.Node, verb, c.Replica, c.Change, at(c.Applied), shortDur(c.Lag()), at(c.Changed))))
		}
		w.printf(`</g>`)
	}
	w.printf(`</svg>`)
}

func removal(change string) bool {
	return change == "terminating" || change == "removed" || change == "unready"
}

// axisAt draws a time axis at y, with grid lines down to gridTo when top.
func (w *svgWriter) axisAt(y int, top bool, gridTo int) {
	step := tickStep(w.axis)
	pos := "bottom"
	if top {
		pos = "top"
	}
	w.printf(`<g class="axis %s"><line x1="%d" x2="%d" y1="%d" y2="%d"/>`, pos, gutter, gutter+plotWidth, y, y)
	for t := time.Duration(0); t <= w.axis; t += step {
		x := f(w.x(t))
		ty, ly := y-4, y-7
		if !top {
			ty, ly = y+4, y+15
		}
		w.printf(`<g class="tick"><line x1="%s" x2="%s" y1="%d" y2="%d"/><text x="%s" y="%d">%s</text></g>`, x, x, y, ty, x, ly, tickLabel(t, step))
		if top && gridTo > y {
			w.printf(`<line class="grid" x1="%s" x2="%s" y1="%d" y2="%d"/>`, x, x, y, gridTo)
		}
	}
	w.printf(`</g>`)
}

func tickStep(axis time.Duration) time.Duration {
	for _, s := range []time.Duration{
		100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
		30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	} {
		if axis/s <= 12 {
			return s
		}
	}
	s := 10 * time.Minute
	for axis/s > 12 {
		s *= 2
	}
	return s
}

func tickLabel(t, step time.Duration) string {
	if step < time.Second {
		return strconv.FormatFloat(t.Seconds(), 'f', 1, 64) + "s"
	}
	return strconv.FormatFloat(t.Seconds(), 'f', 0, 64) + "s"
}

func shortDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	case d >= time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 0, 64) + "ms"
	case d > 0:
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	}
	return "0"
}

// histogram draws a lane's request counts as two step areas scaled with a
// transform, so that the path data holds bucket indexes and counts
// (small integers) instead of pixel coordinates.
func (w *svgWriter) histogram(l *Lane, base int, peak int32) {
	if !l.Counted || len(l.OK) == 0 {
		return
	}
	sx := float64(w.bucket) / float64(w.axis) * plotWidth
	sy := float64(histHeight) / float64(peak)
	w.printf(`<g class="hist" transform="translate(%d %d) scale(%s %s)">`, gutter, base, strconv.FormatFloat(sx, 'g', 6, 64), strconv.FormatFloat(-sy, 'g', 6, 64))
	total := make([]int32, len(l.OK))
	for i := range l.OK {
		total[i] = l.OK[i] + l.Failed[i]
	}
	if l.FailedTotal > 0 {
		w.printf(`<path class="hf" d="%s"/>`, stepPath(total))
	}
	w.printf(`<path class="ho" d="%s"/></g>`, stepPath(l.OK))
}

// stepPath is the outline of a step area over counts, from 0: only the
// changes of value are written.
func stepPath(v []int32) string {
	var b strings.Builder
	b.WriteString("M0,0")
	cur := int32(0)
	for i, c := range v {
		if c != cur {
			fmt.Fprintf(&b, "H%dV%d", i, c)
			cur = c
		}
	}
	if cur != 0 {
		fmt.Fprintf(&b, "H%dV0", len(v))
	}
	b.WriteString("Z")
	return b.String()
}

// lifecycle draws the replica's state as a coloured bar, with a marker per
// event.
func (w *svgWriter) lifecycle(l *Lane, y int) {
	evs := slices.Clone(l.Events)
	slices.SortStableFunc(evs, func(a, b Event) int { return int(a.At - b.At) })
	state, from := "", time.Duration(0)
	w.printf(`<g class="life">`)
	seg := func(to time.Duration) {
		if state != "" && to > from {
			w.printf(`<rect class="st-%s" x="%s" y="%d" width="%s" height="6"/>`, state, f(w.x(from)), y, f(max(w.x(to)-w.x(from), 0.5)))
		}
	}
	exited := false
	for _, e := range evs {
		next := state
		switch e.Kind {
		case EventStarted:
			next = "starting"
		case EventReady:
			if state != "terminating" && state != "killed" {
				next = "ready"
			}
		case EventUnready:
			if state == "ready" {
				next = "unready"
			}
		case EventDeleted:
			next = "terminating"
		case EventSIGKILL:
			next = "killed"
		case EventExited:
			next = ""
			exited = true
		}
		if next != state {
			seg(e.At)
			state, from = next, e.At
		}
	}
	if !exited {
		seg(w.run.Duration)
	}
	for _, e := range evs {
		w.printf(`<use href="#e-%s" class="ev ev-%s" x="%s" y="%d" data-tip="%s"/>`, e.Kind, e.Kind, f(w.x(e.At)), y+3,
			attr(eventTip(l.Replica, e)))
	}
	w.printf(`</g>`)
}

func eventTip(replica string, e Event) string {
	var what string
	switch e.Kind {
	case EventStarted:
		what = "started"
	case EventReady:
		what = "ready (passing readiness)"
	case EventUnready:
		what = "unready"
	case EventDeleted:
		what = "deleted by the rollout: endpoint removal and preStop begin"
	case EventPreStopDone:
		what = "preStop done"
	case EventSignal:
		what = "stop signal sent"
	case EventSIGKILL:
		what = "SIGKILL at the grace deadline"
	case EventExited:
		what = "exited"
	case EventPhase:
		what = "logged phase"
	default:
		what = e.Kind
	}
	s := fmt.Sprintf("%s %s at %s", replica, what, at(e.At))
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// countWrites counts the write issues of lane i.
func countWrites(ws []WriteIssue, r *Run, i int) int {
	n := 0
	for _, wi := range ws {
		if laneOf(r, wi.Replica) == i {
			n++
		}
	}
	return n
}
