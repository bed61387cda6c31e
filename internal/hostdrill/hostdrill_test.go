package hostdrill_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/hostdrill"
	"github.com/lameduck-dev/lameduck/lameducktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	lameducktest.RunChild(map[string]func() int{"serve": func() int { return hostdrill.Serve(50*time.Millisecond, 0) }})
	goleak.VerifyTestMain(m)
}

func config(t *testing.T) hostdrill.Config {
	return hostdrill.Config{
		Command:  []string{os.Args[0], "-test.run=^$"},
		Env:      []string{lameducktest.EnvChild + "=serve", "LAMEDUCK_DRAIN_DELAY=1s", "LAMEDUCK_GRACE_PERIOD=10s"},
		Rate:     200,
		Workers:  128,
		Restarts: 2,
		Interval: 500 * time.Millisecond,
		Timeout:  10 * time.Second,
		Dir:      t.TempDir(),
	}
}

// The drill tells the ways apart: a plain restart refuses connections
// while no process listens; an in-place upgrade fails nothing and loses
// no acknowledged write; every replaced process exits 0.
func TestRestartRefusesUpgradeFailsNothing(t *testing.T) {
	cfg := config(t)
	restart, err := hostdrill.Run(context.Background(), cfg, hostdrill.Restart)
	if err != nil {
		t.Fatal(err)
	}
	upgrade, err := hostdrill.Run(context.Background(), cfg, hostdrill.Upgrade)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	hostdrill.WriteTable(&b, []*hostdrill.Result{restart, upgrade})
	t.Logf("\n%s", b.String())
	if restart.Load.Failed[hostdrill.ClassRefused] == 0 {
		t.Errorf("plain restart: no refused connection (the drill cannot see the gap)")
	}
	if !upgrade.Clean() || upgrade.Restarts != 2 {
		t.Errorf("upgrade: %d upgrades, failed %v, lost %d: want 2 upgrades, nothing failed or lost", upgrade.Restarts, upgrade.Load.Failed, upgrade.Lost)
	}
	for _, r := range []*hostdrill.Result{restart, upgrade} {
		if r.Lost != 0 {
			t.Errorf("%s: %d acknowledged writes lost (the service is lameduck: none should be)", r.Mode, r.Lost)
		}
		for _, c := range r.ExitCodes {
			if c != 0 {
				t.Errorf("%s: a replaced process exited %d", r.Mode, c)
			}
		}
	}
}

// With the socket held across restarts nothing is refused: connections
// wait in the accept queue while no process runs.
func TestActivationRefusesNothing(t *testing.T) {
	r, err := hostdrill.Run(context.Background(), config(t), hostdrill.Activation)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	hostdrill.WriteTable(&b, []*hostdrill.Result{r})
	t.Logf("\n%s", b.String())
	if r.Load.Failed[hostdrill.ClassRefused] != 0 || r.Lost != 0 || r.Restarts != 2 {
		t.Errorf("activation: %d restarts, failed %v, lost %d: want nothing refused or lost", r.Restarts, r.Load.Failed, r.Lost)
	}
}

func TestClassify(t *testing.T) {
	if got := hostdrill.Classify(os.ErrDeadlineExceeded); got != hostdrill.ClassTimeout {
		t.Errorf("deadline: %s", got)
	}
}
