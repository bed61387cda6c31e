package systemd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lameduck-dev/lameduck"
)

// Environment variables of the notify protocol (sd_notify(3),
// sd_watchdog_enabled(3)).
const (
	EnvNotifySocket = "NOTIFY_SOCKET"
	EnvWatchdogUSec = "WATCHDOG_USEC"
	EnvWatchdogPID  = "WATCHDOG_PID"
)

// Notify sends state (newline-separated assignments such as "READY=1") to
// the service manager's socket named by $NOTIFY_SOCKET (a path, or an
// abstract name starting with "@"). It reports false, with no error, when
// NOTIFY_SOCKET is unset: the process does not run under systemd.
func Notify(state string) (sent bool, err error) {
	addr := os.Getenv(EnvNotifySocket)
	if addr == "" {
		return false, nil
	}
	if addr[0] != '/' && addr[0] != '@' {
		return false, fmt.Errorf("systemd: %s=%q: only path and abstract (@) sockets are supported", EnvNotifySocket, addr)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return false, fmt.Errorf("systemd: notify %s: %w", addr, err)
	}
	defer conn.Close()
	// systemd reads its notify socket at once; do not hang on one that
	// nobody reads.
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, fmt.Errorf("systemd: notify %s: %w", addr, err)
	}
	return true, nil
}

// Watchdog returns the watchdog period systemd expects WATCHDOG=1 within
// (WatchdogSec=, passed as WATCHDOG_USEC), and false when the watchdog is
// off or meant for another process (WATCHDOG_PID).
func Watchdog() (time.Duration, bool) {
	v := os.Getenv(EnvWatchdogUSec)
	if v == "" {
		return 0, false
	}
	us, err := strconv.ParseInt(v, 10, 64)
	if err != nil || us <= 0 {
		return 0, false
	}
	if p := os.Getenv(EnvWatchdogPID); p != "" && p != strconv.Itoa(os.Getpid()) {
		return 0, false
	}
	return time.Duration(us) * time.Microsecond, true
}

// Attach reports app's phases to systemd, from a goroutine that ends when
// app reaches Stopped; call it before app.Run. Outside systemd it sends
// nothing. What it sends:
//
//	Serving              READY=1, STATUS=
//	Draining             STOPPING=1, STATUS= (with the cause), EXTEND_TIMEOUT_USEC=
//	Stopping … Closing   STATUS=, EXTEND_TIMEOUT_USEC=
//	every WATCHDOG_USEC/2  WATCHDOG=1, until Stopped
//
// EXTEND_TIMEOUT_USEC is the time left until the end of the grace period
// (lameduck.App.ShutdownBudget): with LAMEDUCK_GRACE_PERIOD equal to
// TimeoutStopSec it asks for nothing more than systemd gives; with a
// longer grace period it makes systemd wait for the whole budget instead
// of sending SIGKILL at TimeoutStopSec.
//
// When the shutdown begins, the listeners handed out by Activated stop
// accepting (SharedListener.Release): systemd holds the sockets, so new
// connections wait in the accept queue for the next process rather than
// reach this one while it stops. Connections already accepted are served
// through Draining (with "Connection: close") and Stopping as usual; keep
// a short LAMEDUCK_DRAIN_DELAY (deploy/systemd uses 1s) so that keep-alive
// connections retire between requests instead of being closed idle.
//
// A process that never reached Serving sends nothing at its shutdown
// (systemd sees it exit): in particular an upgrade's successor that failed
// before it became the main process must not send STOPPING=1.
//
// A shutdown started by App.Handoff (an in-place upgrade) is not a stop:
// the process that handed its sockets on sends nothing from then on; its
// successor is the service's main process (package upgrade sends
// MAINPID=).
func Attach(app *lameduck.App) {
	go report(app, Notify)
}

// report is Attach's goroutine, with the sender as a parameter.
func report(app *lameduck.App, send func(string) (bool, error)) {
	logErr := func(err error) {
		if err != nil {
			app.Logger().Warn("systemd: notify failed", "err", err)
		}
	}
	var tick <-chan time.Time
	if d, ok := Watchdog(); ok {
		t := time.NewTicker(d / 2)
		defer t.Stop()
		tick = t.C
	}
	next := lameduck.Serving
	ready := false
	for {
		select {
		case <-tick:
			_, err := send("WATCHDOG=1")
			logErr(err)
			continue
		case <-app.Entered(next):
		}
		p := next
		next++
		if p == lameduck.Serving && app.Phase() > lameduck.Serving {
			continue // the shutdown began before Serving: never ready
		}
		if p == lameduck.Serving {
			ready = true
		}
		if p >= lameduck.Draining && !ready {
			// Never ready, so never announced: systemd sees the exit. This
			// is also an upgrade's successor that failed before it became
			// the main process; its STOPPING=1 must not stop the service.
			if socks, _ := Activated(); socks != nil {
				socks.release()
			}
			return
		}
		if p >= lameduck.Draining && errors.Is(app.ShutdownCause(), lameduck.ErrHandoff) {
			return // the successor is the service now
		}
		msg := []string{"STATUS=lameduck: " + p.String()}
		switch p {
		case lameduck.Serving:
			msg = append(msg, "READY=1")
		case lameduck.Draining:
			if socks, _ := Activated(); socks != nil {
				socks.release() // systemd holds the sockets: the next process accepts
			}
			msg = append(msg, "STOPPING=1")
			if c := app.ShutdownCause(); c != nil {
				msg[0] += " (" + strings.ReplaceAll(c.Error(), "\n", " ") + ")"
			}
		}
		if p >= lameduck.Draining && p < lameduck.Stopped {
			if _, killAt, ok := app.ShutdownBudget(); ok {
				if left := time.Until(killAt); left > 0 {
					msg = append(msg, "EXTEND_TIMEOUT_USEC="+strconv.FormatInt(left.Microseconds(), 10))
				}
			}
		}
		_, err := send(strings.Join(msg, "\n"))
		logErr(err)
		if p == lameduck.Stopped {
			return
		}
	}
}
