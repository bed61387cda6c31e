package drill

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/lameduck-dev/lameduck/internal/redistest"
)

// grpcDemo runs `lameduck drill --protocol grpc` on one variant of the
// demo (a small rollout of a few seconds against a real redis-server) and
// returns the CLI's exit code and its --json result.
func grpcDemo(t *testing.T, variant string, extra ...string) (int, *analysis.Result) {
	t.Helper()
	srv := redistest.Start(t)
	out := filepath.Join(t.TempDir(), "drill.json")
	args := append([]string{"drill", "--protocol", "grpc", "--demo-variant", variant,
		"--redis", srv.Addr, "--json", out,
		"--replicas", "2", "--nodes", "2", "--seed", "7", "--rate", "100",
		"--propagation-lag", "200ms-400ms", "--demo-delay", "300ms",
		"--warmup", "500ms", "--tail", "300ms", "--duration", "3s",
		"--readiness-period", "100ms", "--min-ready", "200ms", "--grace", "5s", "--settle", "1s",
	}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	text, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("lameduck drill: %v\n%s", err, text)
	}
	if ctx.Err() != nil {
		t.Fatalf("lameduck drill did not finish in 90s:\n%s", text)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no --json (exit %d): %v\n%s", code, err, text)
	}
	var doc struct {
		Schema   int                `json:"schema"`
		Runs     []*analysis.Result `json:"runs"`
		ExitCode int                `json:"exit_code"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Runs) != 1 || doc.Schema != trace.SchemaVersion {
		t.Fatalf("--json: %v, %d runs\n%s", err, len(doc.Runs), text)
	}
	if t.Failed() || testing.Verbose() || code != doc.ExitCode {
		t.Logf("exit %d (json says %d):\n%s", code, doc.ExitCode, text)
	}
	return code, doc.Runs[0]
}

// TestGRPCLameduckCounterLosesNothing: the gRPC demo counter on
// grpclameduck, through a rollout under unary gRPC load, fails no call and
// loses no acknowledged increment: exit 0.
func TestGRPCLameduckCounterLosesNothing(t *testing.T) {
	code, res := grpcDemo(t, "lameduck")
	if code != 0 || !res.Clean() {
		t.Fatalf("exit %d, want 0; failed %d, ledger %+v", code, res.Load.Failed, res.Ledger)
	}
	l := res.Ledger
	if l == nil || l.Acked < 100 || l.Committed != l.Acked || l.Lost+l.Duplicated != 0 {
		t.Fatalf("ledger = %+v, want every acknowledged call committed once", l)
	}
	if res.Load.Method == "" || res.Load.Path != DefaultGRPCMethod {
		t.Fatalf("load %q %q, want gRPC calls of %s", res.Load.Method, res.Load.Path, DefaultGRPCMethod)
	}
	deleted := 0
	for _, rp := range res.Replicas {
		if rp.Terminating == 0 {
			continue
		}
		deleted++
		if rp.ExitCode != 0 || rp.Killed != 0 || rp.Served == 0 {
			t.Errorf("replica %s: exit code %d, SIGKILL at %v, served %d; want a clean exit after serving",
				rp.Name, rp.ExitCode, rp.Killed, rp.Served)
		}
	}
	if deleted != 2 {
		t.Fatalf("%d replicas deleted, want 2", deleted)
	}
}

// TestGRPCNaiveCounterFails: the naive gRPC counter (plain grpc.Server,
// bare goroutine, no signal handling) dies on SIGTERM with increments
// pending and calls in flight: exit 1, acknowledged increments lost.
func TestGRPCNaiveCounterFails(t *testing.T) {
	code, res := grpcDemo(t, "naive")
	if code != 1 || res.Clean() {
		t.Fatalf("exit %d, want 1 (the naive service passed)", code)
	}
	l := res.Ledger
	if l == nil || l.Acked == 0 || (l.Lost == 0 && res.Load.Failed == 0) {
		t.Fatalf("ledger = %+v, failed %d: want lost increments or failed calls", l, res.Load.Failed)
	}
	if l.Lost == 0 {
		t.Errorf("no acknowledged increment lost (failed calls: %d); the naive service should lose the increments pending at SIGTERM", res.Load.Failed)
	}
}
