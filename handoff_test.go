package lameduck_test

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
)

// A handoff goes through every phase without the configured drain delay
// (here an hour: the test would hang if it were waited for), and says so
// in its cause; ShutdownBudget is known from Draining on.
func TestHandoffSkipsTheDrainDelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv, GracePeriod: 3 * time.Hour, DrainDelay: time.Hour})
	app.ServeListener(&http.Server{}, ln)
	if _, _, ok := app.ShutdownBudget(); ok {
		t.Error("ShutdownBudget known before Run")
	}
	if app.ShutdownCause() != nil {
		t.Error("ShutdownCause before any shutdown")
	}
	done := make(chan int)
	go func() { done <- app.Run() }()
	<-app.Entered(lameduck.Serving)
	app.Handoff(0, errors.New("upgraded to pid 42"))
	<-app.Entered(lameduck.Draining)
	b, killAt, ok := app.ShutdownBudget()
	if !ok || b.DrainDelay != time.Hour || killAt.Before(time.Now().Add(2*time.Hour)) {
		t.Errorf("ShutdownBudget = %+v, %v, %v", b, killAt, ok)
	}
	if code := <-done; code != lameduck.ExitOK {
		t.Errorf("exit code %d", code)
	}
	cause := app.ShutdownCause()
	if !errors.Is(cause, lameduck.ErrHandoff) || cause.Error() != lameduck.ErrHandoff.Error()+": upgraded to pid 42" {
		t.Errorf("cause %v", cause)
	}
}
