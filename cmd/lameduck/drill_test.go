package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/lameduck-dev/lameduck/internal/redistest"
	"go.uber.org/goleak"
)

// serviceEnv makes the test binary a plain HTTP service (no lameduck admin
// port): http.Server.Shutdown on SIGTERM.
const serviceEnv = "LAMEDUCK_DRILL_TEST_SERVICE"

func init() {
	if os.Getenv(serviceEnv) != "1" {
		return
	}
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		time.Sleep(time.Second) // keep serving while the balancers catch up
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		os.Exit(2)
	}
	os.Exit(0)
}

// TestDrillInputChecks: every bad value is refused before anything runs,
// with exit 2 and a message naming the flag and what it accepts.
func TestDrillInputChecks(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no command after --", []string{"drill", "--"}, "no command after --"},
		{"zero replicas", []string{"drill", "--replicas", "0", "--", "true"}, "--replicas 0: want an integer >= 1"},
		{"zero rate", []string{"drill", "--rate", "0", "--", "true"}, "--rate 0: want an integer >= 1"},
		{"negative rollouts", []string{"drill", "--rollouts", "-1", "--", "true"}, "--rollouts -1: want an integer >= 1"},
		{"zero workers", []string{"drill", "--workers", "0", "--", "true"}, "--workers 0"},
		{"zero grace", []string{"drill", "--grace", "0", "--", "true"}, "--grace 0s: want a duration > 0"},
		{"negative timeout", []string{"drill", "--timeout", "-1s", "--", "true"}, "--timeout -1s: want a duration > 0"},
		{"zero timeout", []string{"drill", "--timeout", "0", "--", "true"}, "--timeout 0s"},
		{"zero readiness period", []string{"drill", "--readiness-period", "0s", "--", "true"}, "--readiness-period 0s"},
		{"negative warmup", []string{"drill", "--warmup", "-2", "--", "true"}, "--warmup -2s: want a duration >= 0"},
		{"not a duration", []string{"drill", "--grace", "soon", "--", "true"}, "plain seconds like 5"},
		{"both preStop hooks", []string{"drill", "--prestop-sleep", "1", "--prestop", "sleep 1", "--", "true"}, "give one preStop hook"},
		{"bad ledger", []string{"drill", "--ledger", "mysql:x", "--", "true"}, "--ledger: invalid ledger"},
		{"json path in a missing directory", []string{"drill", "--json", "/nonexistent/dir/out.json", "--", "true"}, "--json: open /nonexistent/dir/out.json"},
		{"several errors at once", []string{"drill", "--replicas", "0", "--grace", "0", "--", "true"}, "--grace 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, _, errOut := runCLI(t, "", tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.wantErr)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v: the check must come before the drill runs", d)
			}
		})
	}
}

// TestSecondsFlag: durations accept plain seconds, like the LAMEDUCK_*
// environment variables.
func TestSecondsFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "0.5": 500 * time.Millisecond, "2m": 2 * time.Minute, "250ms": 250 * time.Millisecond} {
		var s seconds
		if err := s.Set(in); err != nil || time.Duration(s) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(s), err, want)
		}
	}
}

// TestDrillJSONToStdoutWithoutAdminPort: a plain HTTP service (no admin
// port, no flags about readiness) is drilled with the TCP fallback, said
// in the header; --json - puts the versioned document, with the verdict,
// on stdout and the text report on stderr.
func TestDrillJSONToStdoutWithoutAdminPort(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after redis-server's cleanup
	srv := redistest.Start(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(serviceEnv, "1")
	code, stdout, stderr := runCLI(t, "", "drill", "--json", "-", "--redis", srv.Addr,
		"--replicas", "2", "--rate", "50", "--warmup", "0.5", "--tail", "0.3", "--readiness-period", "0.1",
		"--propagation-lag", "100ms-300ms", "--grace", "5", "--", exe)
	var doc struct {
		Schema int `json:"schema"`
		Runs   []struct {
			Verdict struct {
				Pass           bool   `json:"pass"`
				Summary        string `json:"summary"`
				WritesVerified bool   `json:"writes_verified"`
			} `json:"verdict"`
			Trace *trace.Trace `json:"trace"`
		} `json:"runs"`
		ExitCode int `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if doc.Schema != trace.SchemaVersion || len(doc.Runs) != 1 || doc.Runs[0].Trace == nil || doc.ExitCode != code {
		t.Fatalf("document: schema %d, %d runs, exit %d (CLI %d)", doc.Schema, len(doc.Runs), doc.ExitCode, code)
	}
	v := doc.Runs[0].Verdict
	if code != 0 || !v.Pass || v.WritesVerified || !strings.Contains(v.Summary, "writes not verified") {
		t.Fatalf("exit %d, verdict %+v; want a pass with writes not verified\n%s", code, v, stderr)
	}
	if !strings.Contains(stderr, "automatic readiness tcp on PORT") || !strings.Contains(stderr, "verdict: PASS") {
		t.Fatalf("the text report (stderr) does not say the TCP fallback or the verdict:\n%s", stderr)
	}
	for _, line := range strings.Split(stderr, "\n") {
		if len([]rune(line)) > 80 && !strings.HasPrefix(line, "lameduck drill: running") {
			t.Errorf("report line wider than 80 columns: %q", line)
		}
	}
}

// TestDrillJSONFileNotLeftBehind: a usage or setup error leaves no
// --json file, neither one found before the file is created (a bad value)
// nor one found after (a command that is not there).
func TestDrillJSONFileNotLeftBehind(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, args := range [][]string{
		{"--replicas", "0", "--", "true"},
		{"--", "/nonexistent/service"},
	} {
		out := filepath.Join(t.TempDir(), "out.json")
		code, _, _ := runCLI(t, "", append([]string{"drill", "--json", out}, args...)...)
		if code != 2 {
			t.Fatalf("%q: exit %d, want 2", args, code)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%q: a usage error left %s behind", args, out)
		}
	}
}
