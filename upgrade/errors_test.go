package upgrade_test

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"testing"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/upgrade"
)

// Upgrade refuses before Serving, fails cleanly when the new binary cannot
// be started, and the process serves on.
func TestUpgradeErrors(t *testing.T) {
	app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv})
	up, err := upgrade.New(app, upgrade.Options{
		Signal:  upgrade.NoSignal,
		Command: func() (*exec.Cmd, error) { return exec.Command("/nonexistent/lameduck-successor"), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := up.Listen("http", "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Listen("http", "tcp", "127.0.0.1:0"); err == nil {
		t.Error("a second Listen with the same name: no error")
	}
	app.ServeListener(&http.Server{}, ln)
	if _, err := up.Upgrade(context.Background()); !errors.Is(err, upgrade.ErrNotServing) {
		t.Errorf("Upgrade before Run: %v, want ErrNotServing", err)
	}
	done := make(chan int)
	go func() { done <- app.Run() }()
	<-app.Entered(lameduck.Serving)
	if _, err := up.Upgrade(context.Background()); !errors.Is(err, upgrade.ErrFailed) {
		t.Errorf("Upgrade to a missing binary: %v, want ErrFailed", err)
	}
	if app.Phase() != lameduck.Serving {
		t.Errorf("phase %v after a failed upgrade, want Serving", app.Phase())
	}
	app.Shutdown(nil)
	if code := <-done; code != 0 {
		t.Errorf("exit code %d", code)
	}
}
