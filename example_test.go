package lameduck_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/lameduck-dev/lameduck"
)

// quiet returns Options for examples: no environment, no log output.
func quiet() lameduck.Options {
	return lameduck.Options{LookupEnv: lameduck.NoEnv, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// A service with an HTTP server, background work acknowledged before it is
// done, and a closer. Shutdown stands in for SIGTERM.
func Example() {
	app := lameduck.New(quiet())
	app.Close("store", func() error { fmt.Println("store closed"); return nil })

	mux := http.NewServeMux()
	mux.HandleFunc("POST /work", func(w http.ResponseWriter, r *http.Request) {
		_ = app.Go("work", func(ctx context.Context) error {
			time.Sleep(100 * time.Millisecond)
			fmt.Println("work done")
			return nil
		})
		fmt.Fprintln(w, "accepted")
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	app.ServeListener(&http.Server{Handler: mux}, ln)

	go func() {
		<-app.Entered(lameduck.Serving)
		resp, _ := http.Post("http://"+ln.Addr().String()+"/work", "", nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(string(body))
		app.Shutdown(nil) // as SIGTERM would
	}()
	fmt.Println("exit code", app.Run())
	// Output:
	// accepted
	// work done
	// store closed
	// exit code 0
}

// Components can wait for a phase, for example to end streams when
// draining starts.
func ExampleApp_Entered() {
	app := lameduck.New(quiet())
	app.Worker("consumer", func(ctx context.Context) error {
		<-app.Entered(lameduck.Draining)
		fmt.Println("draining: stop taking new jobs")
		<-ctx.Done() // cancelled when Stopping begins
		fmt.Println("stopping:", context.Cause(ctx))
		return nil
	})
	go func() { <-app.Entered(lameduck.Serving); app.Shutdown(fmt.Errorf("deploy")) }()
	fmt.Println("exit code", app.Run())
	// Output:
	// draining: stop taking new jobs
	// stopping: lameduck: stopping: deploy
	// exit code 0
}

// The budget a pod with terminationGracePeriodSeconds: 45 and a 10 s
// preStop sleep gives the process, as lameduck lint computes it too.
func ExampleOptions_Budget() {
	o, err := lameduck.OptionsFromEnv(lameduck.Options{}, func(k string) (string, bool) {
		v, ok := map[string]string{
			"LAMEDUCK_GRACE_PERIOD": "45",
			"LAMEDUCK_PRESTOP":      "10s",
			"LAMEDUCK_DRAIN_DELAY":  "3s",
		}[k]
		return v, ok
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	b := o.Budget()
	fmt.Printf("total %v = drain %v + stop %v + flush %v + close %v\n", b.Total, b.DrainDelay, b.Stop, b.Flush, b.Close)
	// Output:
	// total 33s = drain 3s + stop 25s + flush 2s + close 3s
}

// Invalid configuration names the variable and the accepted form.
func ExampleOptionsFromEnv_invalid() {
	_, err := lameduck.OptionsFromEnv(lameduck.Options{}, func(k string) (string, bool) {
		if k == "LAMEDUCK_DRAIN_DELAY" {
			return "abc", true
		}
		return "", false
	})
	fmt.Println(err)
	// Output:
	// lameduck: invalid configuration: LAMEDUCK_DRAIN_DELAY="abc": time: invalid duration "abc" (want a duration such as "5s", "1m30s" or plain seconds "30")
}

// A handler that upgrades a connection and returns at once, leaving the
// connection to a goroutine (gorilla/websocket's chat pattern), hands it
// to the App with Adopt: Stopping waits for the goroutine's goodbye.
func ExampleApp_Adopt() {
	app := lameduck.New(quiet())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: demo\r\n\r\n")
		buf.Flush()
		release := app.Adopt(r, conn)
		go func() {
			defer release()
			defer conn.Close()
			<-app.Entered(lameduck.Stopping)
			fmt.Fprintln(conn, "bye") // a WebSocket would send a 1001 close frame
		}()
	}) // returns: without Adopt the App would forget the connection here
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	app.ServeListener(&http.Server{Handler: mux}, ln)

	done := make(chan struct{})
	go func() {
		defer close(done)
		<-app.Entered(lameduck.Serving)
		c, _ := net.Dial("tcp", ln.Addr().String())
		defer c.Close()
		fmt.Fprint(c, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, _ := http.ReadResponse(br, nil)
		fmt.Println(resp.Status)
		app.Shutdown(nil)
		line, _ := br.ReadString('\n')
		fmt.Print(line)
	}()
	code := app.Run()
	<-done
	fmt.Println("exit code", code)
	// Output:
	// 101 Switching Protocols
	// bye
	// exit code 0
}
