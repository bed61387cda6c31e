package lameduck_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/lameducktest"
)

func runApp(t *testing.T, app *lameduck.App) <-chan int {
	t.Helper()
	code := make(chan int, 1)
	go func() { code <- app.Run() }()
	select {
	case <-app.Entered(lameduck.Serving):
	case <-time.After(5 * time.Second):
		t.Fatal("app did not start serving")
	}
	return code
}

// Work registered with Hold holds Stopping open until released, and new
// work is refused once Stopping began.
func TestHoldIsWaitedForAndRefusedWhenStopping(t *testing.T) {
	app := lameduck.New(quiet())
	code := runApp(t, app)
	release, err := app.Hold("rpc", "/counter.Counter/Incr", "127.0.0.1:5555")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "in flight", app.Stats().InFlight, 1)
	app.Shutdown(nil)
	select {
	case <-app.Entered(lameduck.Stopping):
	case <-time.After(5 * time.Second):
		t.Fatal("no Stopping")
	}
	if _, err := app.Hold("rpc", "late", ""); !errors.Is(err, lameduck.ErrStopped) {
		t.Errorf("Hold while stopping: err = %v, want ErrStopped", err)
	}
	select {
	case c := <-code:
		t.Fatalf("Run returned %d while work was held", c)
	case <-time.After(200 * time.Millisecond):
	}
	release()
	release() // idempotent
	select {
	case c := <-code:
		equal(t, "exit code", c, 0)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after release")
	}
	st := app.Stats()
	equal(t, "drained", st.Drained, 1)
	equal(t, "refused", st.Refused, 1)
	equal(t, "in flight", st.InFlight, 0)
}

// Held work that outlives the stop budget is named and counted as cut.
func TestHoldOverBudgetIsNamed(t *testing.T) {
	var logs lameducktest.LogBuffer
	o := quiet()
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	o.GracePeriod, o.KillMargin, o.FlushTimeout, o.CloseTimeout = time.Second, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
	app := lameduck.New(o)
	code := runApp(t, app)
	release, err := app.Hold("rpc", "/counter.Counter/Stream", "10.0.0.7:4242")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	app.Shutdown(nil)
	select {
	case c := <-code:
		equal(t, "exit code", c, 1)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return at the budget")
	}
	equal(t, "cut requests", app.Stats().CutRequests, 1)
	for _, want := range []string{`msg="lameduck: still running" kind=rpc name=/counter.Counter/Stream`, "peer=10.0.0.7:4242"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
