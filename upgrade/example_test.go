package upgrade_test

import (
	"fmt"
	"net/http"
	"os"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/systemd"
	"github.com/lameduck-dev/lameduck/upgrade"
)

// An upgradable service: SIGHUP or POST /upgrade on the admin port starts
// the binary again with the same sockets; the old process drains.
func ExampleNew() {
	app := lameduck.New(lameduck.Options{})
	up, err := upgrade.New(app, upgrade.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(lameduck.ExitConfig)
	}
	ln, err := up.Listen("http", "tcp", ":8080")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(lameduck.ExitConfig)
	}
	app.ServeListener(&http.Server{Handler: http.NotFoundHandler()}, ln)
	app.Admin("127.0.0.1:8081")
	app.HandleAdmin("/upgrade", up.Handler())
	systemd.Attach(app)
	os.Exit(app.Run())
}
