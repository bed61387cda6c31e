package promlameduck

import (
	"github.com/lameduck-dev/lameduck"
	"github.com/prometheus/client_golang/prometheus"
)

// collector reads an App's phase and Stats at scrape time.
type collector struct {
	app *lameduck.App

	phase, phaseDuration                      *prometheus.Desc
	inflight, tasks, tasksDone                *prometheus.Desc
	servedDraining, drained, refused, cutReqs *prometheus.Desc
	cutTasks                                  *prometheus.Desc
}

func newCollector(app *lameduck.App) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("lameduck", "", name), help, labels, nil)
	}
	return &collector{
		app:            app,
		phase:          d("phase", "1 for the App's current phase, 0 for the others.", "phase"),
		phaseDuration:  d("phase_duration_seconds", "Time spent in each phase that has ended (for shutdown phases: of this process's shutdown).", "phase"),
		inflight:       d("inflight_requests", "Requests inside the App's handlers."),
		tasks:          d("tasks_running", "Tracked background tasks running."),
		tasksDone:      d("tasks_completed_total", "Tracked background tasks that returned."),
		servedDraining: d("requests_served_draining_total", "Requests that arrived while Draining (served, with Connection: close)."),
		drained:        d("requests_drained_total", "Requests that finished after Stopping began (in flight when the listeners closed)."),
		refused:        d("requests_refused_total", "Requests refused with 503 after Stopping began."),
		cutReqs:        d("requests_cut_total", "Requests still running when Stopping's budget ran out (their contexts were cancelled)."),
		cutTasks:       d("tasks_cut_total", "Tracked tasks and workers still running when Stopping's budget ran out."),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.phase, c.phaseDuration, c.inflight, c.tasks, c.tasksDone,
		c.servedDraining, c.drained, c.refused, c.cutReqs, c.cutTasks} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.app.Stats()
	phases := lameduck.Phases()
	for _, p := range phases {
		v := 0.0
		if p == st.Phase {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.phase, prometheus.GaugeValue, v, p.String())
	}
	for i, p := range phases[:len(phases)-1] {
		start, end := c.app.EnteredAt(p), c.app.EnteredAt(phases[i+1])
		if start.IsZero() || end.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.phaseDuration, prometheus.GaugeValue, end.Sub(start).Seconds(), p.String())
	}
	g := func(d *prometheus.Desc, t prometheus.ValueType, v int64) {
		ch <- prometheus.MustNewConstMetric(d, t, float64(v))
	}
	g(c.inflight, prometheus.GaugeValue, st.InFlight)
	g(c.tasks, prometheus.GaugeValue, st.Tasks)
	g(c.tasksDone, prometheus.CounterValue, st.TasksDone)
	g(c.servedDraining, prometheus.CounterValue, st.ServedDraining)
	g(c.drained, prometheus.CounterValue, st.Drained)
	g(c.refused, prometheus.CounterValue, st.Refused)
	g(c.cutReqs, prometheus.CounterValue, st.CutRequests)
	g(c.cutTasks, prometheus.CounterValue, st.CutTasks)
}
