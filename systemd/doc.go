// Package systemd runs a lameduck App under systemd: listening sockets
// inherited through socket activation (LISTEN_PID, LISTEN_FDS,
// LISTEN_FDNAMES) and the sd_notify protocol (READY=1, STOPPING=1,
// EXTEND_TIMEOUT_USEC, WATCHDOG=1, STATUS=, MAINPID=).
//
// A socket-activated service keeps its listening socket across restarts:
// systemd owns it, every new process inherits it, and connections that
// arrive while no process runs wait in the kernel's accept queue instead
// of being refused:
//
//	socks, err := systemd.Activated()         // the sockets systemd passed, by name
//	ln, err := socks.Listen("http", "tcp", ":8080") // FileDescriptorName=http, or a fresh listener
//	app := lameduck.New(lameduck.Options{})
//	app.ServeListener(&http.Server{Handler: mux}, ln)
//	systemd.Attach(app)                        // READY=1 in Serving, STOPPING=1 at the shutdown …
//	os.Exit(app.Run())
//
// Attach reports the phases: READY=1 when the App enters Serving,
// STOPPING=1 when the shutdown begins, and EXTEND_TIMEOUT_USEC with what
// is left of the shutdown budget (plus the kill margin) at every phase, so
// systemd waits for the budget even when TimeoutStopSec is shorter. With
// WatchdogSec= set (WATCHDOG_USEC), it sends WATCHDOG=1 every half period
// until the process exits. Outside systemd (NOTIFY_SOCKET unset) every
// call is a no-op, so the same binary runs anywhere.
//
// The package is the standard library only (about 470 lines with comments, instead of
// github.com/coreos/go-systemd/v22, whose activation and daemon packages
// do the same and pull in golang.org/x/sys): the lameduck library keeps a
// standard-library import graph. deploy/systemd holds a .socket and
// .service unit pair; docs/systemd.md explains them.
package systemd
