package promlameduck

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/push"
)

// Metrics is an App's Prometheus instrumentation. Create it with New.
type Metrics struct {
	app     *lameduck.App
	opts    Options
	log     *slog.Logger
	http    *httpMetrics
	handler http.Handler

	mu      sync.Mutex
	scrapes int64         // scrapes completed
	newest  time.Time     // start of the newest completed scrape
	prev    time.Time     // start of the one before it
	scraped chan struct{} // closed and replaced when a scrape completes
}

// New registers app's metrics and the HTTP metrics with the registry of o,
// mounts the metrics handler on app's admin server (unless o.NoAdmin) and
// registers the flush hook of the final-values mode. It reads the
// environment variables listed with EnvFinal; an invalid configuration
// returns an error wrapping ErrConfig (exit with lameduck.ExitConfig).
// Call it once per App, before app.Run (a second call would mount /metrics
// twice; use NoAdmin and another registry if you need two).
func New(app *lameduck.App, o Options) (*Metrics, error) {
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	m := &Metrics{app: app, opts: o, log: o.Logger, http: newHTTPMetrics(o.Buckets), scraped: make(chan struct{})}
	cs := []prometheus.Collector{newCollector(app), m.http.requests, m.http.duration}
	for i, c := range cs {
		if err := o.Registerer.Register(c); err != nil {
			for _, done := range cs[:i] {
				o.Registerer.Unregister(done)
			}
			return nil, fmt.Errorf("promlameduck: register metrics: %w", err)
		}
	}
	m.handler = m.WatchScrapes(promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	if !o.NoAdmin {
		app.HandleAdmin(o.Path, m.handler)
	}
	switch o.Final {
	case FinalScrape:
		app.Flush("metrics: final scrape", m.waitFinalScrape)
	case FinalPush:
		app.Flush("metrics: push", m.pushFinal)
	}
	return m, nil
}

// Final returns the final-values mode in effect.
func (m *Metrics) Final() Final { return m.opts.Final }

// Handler serves the metrics in the Prometheus exposition format; its
// scrapes are watched by FinalScrape. New mounts it on the admin server.
func (m *Metrics) Handler() http.Handler { return m.handler }

// WatchScrapes wraps a metrics handler of your own so that FinalScrape
// sees its scrapes. Handler is already wrapped.
func (m *Metrics) WatchScrapes(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer m.scrapeDone(start)
		h.ServeHTTP(w, r)
	})
}

func (m *Metrics) scrapeDone(start time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.scrapes++
	if start.After(m.newest) {
		m.prev, m.newest = m.newest, start
	}
	close(m.scraped)
	m.scraped = make(chan struct{})
}

// Scrapes returns how many scrapes of the watched handlers have completed.
func (m *Metrics) Scrapes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.scrapes
}

// WaitScrape waits until a scrape that started after since has completed,
// or ctx ends.
func (m *Metrics) WaitScrape(ctx context.Context, since time.Time) error {
	for {
		m.mu.Lock()
		ok, ch := m.newest.After(since), m.scraped
		m.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// hookMargin is how long before the Flushing deadline a flush hook gives
// up, so that it returns before the App counts it as still running.
func hookMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(100*time.Millisecond, time.Until(dl)/4)
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// waitFinalScrape is the FinalScrape flush hook.
func (m *Metrics) waitFinalScrape(ctx context.Context) error {
	since := m.app.EnteredAt(lameduck.Flushing)
	if since.IsZero() {
		since = time.Now()
	}
	m.mu.Lock()
	n, interval := m.scrapes, m.newest.Sub(m.prev)
	if m.prev.IsZero() {
		interval = 0
	}
	m.mu.Unlock()
	if n == 0 {
		m.log.Info("lameduck: metrics: no final scrape: /metrics was never scraped")
		return nil
	}
	wctx, cancel := hookMargin(ctx)
	defer cancel()
	start := time.Now()
	if err := m.WaitScrape(wctx, since); err != nil {
		budget := time.Duration(0)
		if dl, ok := ctx.Deadline(); ok {
			budget = dl.Sub(since).Round(time.Millisecond)
		}
		args := []any{"waited", time.Since(start).Round(time.Millisecond), "flush_budget", budget}
		if interval > 0 {
			args = append(args, "scrape_interval", interval.Round(time.Millisecond))
		}
		args = append(args, "hint", "make "+lameduck.EnvFlushTimeout+" longer than the scrape interval, or push with "+EnvFinal+"=push")
		m.log.Warn("lameduck: metrics: final scrape missed: the last values are lost", args...)
		return nil
	}
	m.log.Info("lameduck: metrics: final scrape collected", "waited", time.Since(start).Round(time.Millisecond))
	return nil
}

// pushFinal is the FinalPush flush hook.
func (m *Metrics) pushFinal(ctx context.Context) error {
	p := push.New(m.opts.PushURL, m.opts.PushJob).Gatherer(m.opts.Gatherer)
	for k, v := range m.opts.PushGrouping {
		p = p.Grouping(k, v)
	}
	wctx, cancel := hookMargin(ctx)
	defer cancel()
	start := time.Now()
	if err := p.PushContext(wctx); err != nil {
		return fmt.Errorf("promlameduck: push to %s: %w", m.opts.PushURL, err)
	}
	m.log.Info("lameduck: metrics: final values pushed", "url", m.opts.PushURL, "job", m.opts.PushJob,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}
