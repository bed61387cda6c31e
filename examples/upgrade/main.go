// Command upgrade is a lameduck service that upgrades itself in place:
// on SIGHUP (or POST /upgrade on the admin port) it starts its own
// executable again — replace the binary on disk first to upgrade — and
// hands it the listening sockets; once the new process is Serving the old
// one drains through the usual phases and exits. If the new process fails
// to start or to become ready, the old one goes on serving.
//
//	go build -o /tmp/up ./examples/upgrade && /tmp/up &
//	curl localhost:8080/                 # hello from pid A
//	kill -HUP %1                         # or: curl -X POST localhost:8081/upgrade
//	curl localhost:8080/                 # hello from pid B
//
// Under systemd, ExecReload=/bin/kill -HUP $MAINPID makes it
// "systemctl reload": the old process tells systemd the new main pid.
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/systemd"
	"github.com/lameduck-dev/lameduck/upgrade"
)

func main() {
	app := lameduck.New(lameduck.Options{})
	up, err := upgrade.New(app, upgrade.Options{}) // SIGHUP upgrades
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(lameduck.ExitConfig)
	}
	ln, err := up.Listen("http", "tcp", ":8080") // from the previous process, systemd, or new
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(lameduck.ExitConfig)
	}
	admin, err := up.Listen("admin", "tcp", "127.0.0.1:8081")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(lameduck.ExitConfig)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from pid %d\n", os.Getpid())
	})
	app.ServeListener(&http.Server{Handler: mux}, ln)
	app.AdminListener(admin)
	app.HandleAdmin("/upgrade", up.Handler()) // POST /upgrade
	systemd.Attach(app)
	os.Exit(app.Run())
}
