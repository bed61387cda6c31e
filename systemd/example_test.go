package systemd_test

import (
	"fmt"
	"net/http"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/systemd"
)

// A service that systemd may socket-activate: outside systemd, Listen
// opens the socket itself, Attach and Notify send nothing.
func ExampleSockets_Listen() {
	socks, err := systemd.Activated()
	if err != nil {
		panic(err)
	}
	ln, err := socks.Listen("http", "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv})
	app.ServeListener(&http.Server{}, ln)
	systemd.Attach(app)
	app.Shutdown(nil) // a real service would serve until SIGTERM
	fmt.Println("exit code", app.Run(), "inherited", socks.Names())
	// Output: exit code 0 inherited []
}

func ExampleNotify() {
	sent, err := systemd.Notify("STATUS=warming the cache")
	fmt.Println(sent, err) // false outside systemd (NOTIFY_SOCKET unset)
}
