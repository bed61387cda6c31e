package promlameduck_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/promlameduck"
	"github.com/prometheus/client_golang/prometheus"
)

func env(kv ...string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1], true
			}
		}
		return "", false
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []struct {
		name    string
		o       promlameduck.Options
		want    promlameduck.Final
		wantErr string
	}{
		{"default", promlameduck.Options{}, promlameduck.FinalScrape, ""},
		{"push by default with a URL", promlameduck.Options{PushURL: "http://gw:9091"}, promlameduck.FinalPush, ""},
		{"URL from env", promlameduck.Options{LookupEnv: env(promlameduck.EnvPushURL, "http://gw:9091")}, promlameduck.FinalPush, ""},
		{"env beats option", promlameduck.Options{Final: promlameduck.FinalNone, LookupEnv: env(promlameduck.EnvFinal, " Scrape ")}, promlameduck.FinalScrape, ""},
		{"scrape with a URL", promlameduck.Options{LookupEnv: env(promlameduck.EnvFinal, "scrape", promlameduck.EnvPushURL, "http://gw")}, promlameduck.FinalScrape, ""},
		{"none", promlameduck.Options{LookupEnv: env(promlameduck.EnvFinal, "none")}, promlameduck.FinalNone, ""},
		{"push without URL", promlameduck.Options{LookupEnv: env(promlameduck.EnvFinal, "push")}, "", "LAMEDUCK_PUSHGATEWAY_URL"},
		{"unknown mode", promlameduck.Options{LookupEnv: env(promlameduck.EnvFinal, "pull")}, "", `LAMEDUCK_METRICS_FINAL="pull": want scrape, push or none`},
		{"registerer only", promlameduck.Options{Registerer: prometheus.WrapRegistererWithPrefix("x_", prometheus.NewRegistry())}, "", "Gatherer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.o.LookupEnv == nil {
				c.o.LookupEnv = lameduck.NoEnv
			}
			m, err := promlameduck.New(lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv}), c.o)
			if c.wantErr != "" {
				if err == nil || !errors.Is(err, promlameduck.ErrConfig) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want ErrConfig mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Final() != c.want {
				t.Errorf("Final() = %q, want %q", m.Final(), c.want)
			}
		})
	}
}

// TestOwnRegistry registers on a caller's registry; a second New on the
// same registry fails instead of panicking.
func TestOwnRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv})
	m, err := promlameduck.New(app, promlameduck.Options{Registerer: reg, NoAdmin: true, LookupEnv: lameduck.NoEnv})
	if err != nil {
		t.Fatal(err)
	}
	h := m.InstrumentHandler("api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	body := get(t, httptest.NewServer(m.Handler()), "/metrics")
	for _, want := range []string{
		`http_requests_total{code="418",handler="api",method="post"} 1`,
		`http_request_duration_seconds_count{code="418",handler="api",method="post"} 1`,
		`lameduck_phase{phase="Starting"} 1`,
		`lameduck_inflight_requests 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "go_goroutines") {
		t.Error("the Go collector was added to the caller's registry")
	}
	if _, err := promlameduck.New(app, promlameduck.Options{Registerer: reg, NoAdmin: true, LookupEnv: lameduck.NoEnv}); err == nil {
		t.Error("a second New on the same registry succeeded")
	}
	if _, err := promlameduck.New(app, promlameduck.Options{Registerer: reg, Gatherer: reg, NoAdmin: true, LookupEnv: lameduck.NoEnv}); err == nil {
		t.Error("a second New on the same registry succeeded")
	}
}

func get(t *testing.T, srv *httptest.Server, path string) string {
	t.Helper()
	defer srv.Close()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	return string(b)
}

// logBuffer collects an App's log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runApp runs an App with the metrics and FinalScrape in this process. It
// scrapes /metrics once in Serving if scrapeBefore, shuts the App down and
// scrapes once in Flushing if scrapeFlushing; it returns the exit code,
// the log and the Flushing scrape's body.
func runApp(t *testing.T, scrapeBefore, scrapeFlushing bool) (code int, log, final string) {
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv, Logger: logger, DrainDelay: lameduck.NoDrainDelay,
		FlushTimeout: 400 * time.Millisecond})
	_, err := promlameduck.New(app, promlameduck.Options{LookupEnv: lameduck.NoEnv, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(app.AdminHandler())
	defer admin.Close()
	scrape := func() string {
		resp, err := http.Get(admin.URL + "/metrics")
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	done := make(chan int, 1)
	go func() { done <- app.Run() }()
	select {
	case <-app.Entered(lameduck.Serving):
	case <-time.After(5 * time.Second):
		t.Fatal("not Serving after 5s")
	}
	if scrapeBefore {
		scrape()
	}
	app.Shutdown(nil)
	if scrapeFlushing {
		select {
		case <-app.Entered(lameduck.Flushing):
			final = scrape()
		case <-time.After(5 * time.Second):
			t.Fatal("not Flushing after 5s")
		}
	}
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after 10s")
	}
	admin.CloseClientConnections()
	http.DefaultClient.CloseIdleConnections()
	return code, logs.String(), final
}

// TestFinalScrapeInProcess covers the three outcomes of the FinalScrape
// hook. Each must end the shutdown cleanly (exit 0): even a missed scrape
// returns before the Flushing deadline.
func TestFinalScrapeInProcess(t *testing.T) {
	t.Run("collected", func(t *testing.T) {
		code, log, final := runApp(t, true, true)
		if code != lameduck.ExitOK {
			t.Errorf("exit code %d", code)
		}
		if !strings.Contains(log, "final scrape collected") {
			t.Errorf("no \"final scrape collected\" in the log:\n%s", log)
		}
		if !strings.Contains(final, `lameduck_phase{phase="Flushing"} 1`) {
			t.Errorf("the final scrape does not say Flushing:\n%s", final)
		}
		if !strings.Contains(final, `lameduck_phase_duration_seconds{phase="Stopping"}`) {
			t.Errorf("the final scrape has no Stopping duration")
		}
	})
	t.Run("missed", func(t *testing.T) {
		code, log, _ := runApp(t, true, false)
		if code != lameduck.ExitOK {
			t.Errorf("exit code %d: the hook overran the Flushing budget", code)
		}
		if !strings.Contains(log, "final scrape missed") {
			t.Errorf("no \"final scrape missed\" in the log:\n%s", log)
		}
	})
	t.Run("never scraped", func(t *testing.T) {
		code, log, _ := runApp(t, false, false)
		if code != lameduck.ExitOK {
			t.Errorf("exit code %d", code)
		}
		if !strings.Contains(log, "was never scraped") || strings.Contains(log, "final scrape missed") {
			t.Errorf("the hook waited for a scrape of a process nobody scrapes:\n%s", log)
		}
	})
}
