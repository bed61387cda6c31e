// Command socket-activation is a lameduck service socket-activated by
// systemd: it serves the socket named "http" that systemd passes
// (FileDescriptorName=http in the .socket unit) and reports its phases
// with sd_notify (Type=notify). Started by hand it listens on :8080.
//
// Try it without systemd, with Debian's systemd-socket-activate (package
// systemd), which binds the socket and passes it the same way:
//
//	go build -o /tmp/sa ./examples/socket-activation
//	systemd-socket-activate -l 127.0.0.1:8080 --fdname=http /tmp/sa &
//	curl localhost:8080/   # the first connection starts the service
//
// deploy/systemd holds a .socket + .service pair.
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/systemd"
)

func main() {
	socks, err := systemd.Activated()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(lameduck.ExitConfig)
	}
	ln, err := socks.Listen("http", "tcp", ":8080") // inherited, or a new socket outside systemd
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(lameduck.ExitConfig)
	}
	app := lameduck.New(lameduck.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from pid %d\n", os.Getpid())
	})
	app.ServeListener(&http.Server{Handler: mux}, ln)
	systemd.Attach(app) // READY=1, STOPPING=1, EXTEND_TIMEOUT_USEC, WATCHDOG=1
	os.Exit(app.Run())
}
