// Package promtest starts a real Prometheus server and a real Pushgateway
// for tests, each on a free 127.0.0.1 port with its state in a temporary
// directory, and queries them.
//
// The binaries come from Debian's packages:
//
//	apt-get install -y prometheus prometheus-pushgateway
//
// When a binary is missing the test fails if $CI is set and is skipped
// otherwise, so a developer machine without them still runs the rest.
package promtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/freeport"
	"github.com/lameduck-dev/lameduck/lameducktest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// StartTimeout bounds how long a server may take to become ready.
const StartTimeout = 20 * time.Second

// FreeAddr returns a 127.0.0.1 address that was free a moment ago, below
// the ephemeral port range (see internal/freeport), for a process that
// binds it itself.
func FreeAddr(t testing.TB) string {
	t.Helper()
	p, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}

// lookBin finds one of names on $PATH and fails the test when none is
// installed (./scripts/test.sh installs them): a skipped end-to-end check
// would pass silently.
func lookBin(t testing.TB, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("none of %v on $PATH: run ./scripts/test.sh, or apt-get install -y %s", names, pkg)
	return ""
}

// process is a server started by a test, in its own process group.
type process struct {
	cmd  *exec.Cmd
	out  *lameducktest.LogBuffer
	done chan struct{}
}

// start runs bin with args until the test ends, waiting until GET ready
// answers 200.
func start(t testing.TB, ready string, bin string, args ...string) *process {
	t.Helper()
	p := &process{out: &lameducktest.LogBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })

	deadline := time.NewTimer(StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := http.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before it was ready:\n%s", filepath.Base(bin), p.out)
		case <-deadline.C:
			t.Fatalf("%s not ready at %s after %v:\n%s", filepath.Base(bin), ready, StartTimeout, p.out)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after 5s.
func (p *process) stop(t testing.TB) {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Errorf("process %d did not die after SIGKILL", p.cmd.Process.Pid)
		}
	}
	if t.Failed() {
		t.Logf("%s output:\n%s", filepath.Base(p.cmd.Path), p.out)
	}
}

// Job is a scrape job of a Prometheus server.
type Job struct {
	Name     string
	Targets  []string      // host:port
	Interval time.Duration // scrape interval; the timeout is min(1s, Interval)
	Path     string        // default /metrics
}

// Prometheus is a Prometheus server run by a test.
type Prometheus struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string
	p   *process
}

// StartPrometheus starts a Prometheus server scraping jobs, stopped when
// the test ends.
func StartPrometheus(t testing.TB, jobs ...Job) *Prometheus {
	t.Helper()
	bin := lookBin(t, "prometheus", "prometheus")
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n")
	for _, j := range jobs {
		path := j.Path
		if path == "" {
			path = "/metrics"
		}
		timeout := min(time.Second, j.Interval)
		fmt.Fprintf(&cfg, "  - job_name: %q\n    scrape_interval: %s\n    scrape_timeout: %s\n    metrics_path: %q\n    static_configs:\n      - targets: [",
			j.Name, model.Duration(j.Interval), model.Duration(timeout), path)
		for i, tg := range j.Targets {
			if i > 0 {
				cfg.WriteString(", ")
			}
			fmt.Fprintf(&cfg, "%q", tg)
		}
		cfg.WriteString("]\n")
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	p := start(t, "http://"+addr+"/-/ready", bin,
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	return &Prometheus{URL: "http://" + addr, p: p}
}

// Sample is one series of an instant query's result.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant PromQL query at the current time.
func (p *Prometheus) Query(ctx context.Context, q string) ([]Sample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query?query="+url.QueryEscape(q), &data); err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %q, want vector", q, data.ResultType)
	}
	out := make([]Sample, 0, len(data.Result))
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v: %w", q, r.Value[1], err)
		}
		out = append(out, Sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// QueryScalar runs q, which must return at most one series, and returns
// its value and whether there was one.
func (p *Prometheus) QueryScalar(ctx context.Context, q string) (float64, bool, error) {
	s, err := p.Query(ctx, q)
	switch {
	case err != nil:
		return 0, false, err
	case len(s) == 0:
		return 0, false, nil
	case len(s) > 1:
		return 0, false, fmt.Errorf("query %s: %d series, want at most 1: %v", q, len(s), s)
	}
	return s[0].Value, true, nil
}

// Target is a scrape target as Prometheus reports it.
type Target struct {
	Job        string
	ScrapeURL  string
	Health     string // "up", "down" or "unknown"
	LastScrape time.Time
	LastError  string
}

// Targets returns the active scrape targets.
func (p *Prometheus) Targets(ctx context.Context) ([]Target, error) {
	var data struct {
		ActiveTargets []struct {
			ScrapePool string    `json:"scrapePool"`
			ScrapeURL  string    `json:"scrapeUrl"`
			Health     string    `json:"health"`
			LastScrape time.Time `json:"lastScrape"`
			LastError  string    `json:"lastError"`
		} `json:"activeTargets"`
	}
	if err := p.get(ctx, "/api/v1/targets?state=active", &data); err != nil {
		return nil, err
	}
	out := make([]Target, 0, len(data.ActiveTargets))
	for _, a := range data.ActiveTargets {
		out = append(out, Target{Job: a.ScrapePool, ScrapeURL: a.ScrapeURL, Health: a.Health, LastScrape: a.LastScrape, LastError: a.LastError})
	}
	return out, nil
}

// WaitTarget polls the targets every 25ms until job's (only) target
// satisfies ok, and returns it; it fails when ctx ends first.
func (p *Prometheus) WaitTarget(ctx context.Context, job string, ok func(Target) bool) (Target, error) {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var last Target
	for {
		ts, err := p.Targets(ctx)
		if err != nil && ctx.Err() == nil {
			return last, err
		}
		for _, tg := range ts {
			if tg.Job == job {
				last = tg
				if ok(tg) {
					return tg, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("target of job %q: condition not met (last seen %+v): %w", job, last, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

func (p *Prometheus) get(ctx context.Context, path string, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, env.Error)
	}
	return json.Unmarshal(env.Data, data)
}

// Pushgateway is a Prometheus Pushgateway run by a test.
type Pushgateway struct {
	// URL is the gateway's base URL, the one to push to.
	URL string
	p   *process
}

// StartPushgateway starts a Pushgateway (without persistence), stopped when
// the test ends.
func StartPushgateway(t testing.TB) *Pushgateway {
	t.Helper()
	bin := lookBin(t, "prometheus-pushgateway", "prometheus-pushgateway", "pushgateway")
	addr := FreeAddr(t)
	p := start(t, "http://"+addr+"/-/ready", bin, "--web.listen-address="+addr, "--log.level=warn")
	return &Pushgateway{URL: "http://" + addr, p: p}
}

// Families returns every metric family the gateway exposes, parsed.
func (g *Pushgateway) Families(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New("pushgateway /metrics: " + resp.Status)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	return parser.TextToMetricFamilies(resp.Body)
}

// Value returns the value of the series of family name whose labels include
// every label of match, and whether exactly one such series exists.
func Value(fams map[string]*dto.MetricFamily, name string, match map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var found []float64
	for _, m := range f.GetMetric() {
		labels := make(map[string]string)
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range match {
			if labels[k] != v {
				ok = false
			}
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			found = append(found, m.Counter.GetValue())
		case m.Gauge != nil:
			found = append(found, m.Gauge.GetValue())
		case m.Untyped != nil:
			found = append(found, m.Untyped.GetValue())
		case m.Histogram != nil:
			found = append(found, float64(m.Histogram.GetSampleCount()))
		}
	}
	if len(found) != 1 {
		return 0, false
	}
	return found[0], true
}
