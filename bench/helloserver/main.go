// Command helloserver is the service the benchmarks measure, in three
// shutdown styles:
//
//	-mode lameduck  lameduck.App, no drain delay (as outside Kubernetes)
//	-mode stdlib    http.Server.Shutdown on SIGTERM (the usual hand-written code)
//	-mode sleep     a naive fixed 1s sleep on SIGTERM, then exit
//
// GET / answers "hello"; GET /slow?d=200ms sleeps first. It prints
// "listening ADDR" once it accepts connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck"
)

func main() {
	mode := flag.String("mode", "lameduck", "lameduck, stdlib or sleep")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	rht := flag.Duration("read-header-timeout", 0, "http.Server.ReadHeaderTimeout for every mode (0: unset; lameduck then defaults it to 10s)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until exit")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	mux := http.NewServeMux()
	hello := []byte("hello\n")
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { w.Write(hello) })
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		time.Sleep(d)
		w.Write(hello)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("listening", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: *rht}

	switch *mode {
	case "lameduck":
		app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		app.ServeListener(srv, ln)
		code := app.Run()
		pprof.StopCPUProfile()
		os.Exit(code)
	case "stdlib":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		go srv.Serve(ln)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			os.Exit(1)
		}
	case "sleep":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		go srv.Serve(ln)
		<-ctx.Done()
		time.Sleep(time.Second) // "give requests time to finish"
		srv.Close()
	default:
		fmt.Fprintln(os.Stderr, "unknown -mode", *mode)
		os.Exit(2)
	}
}
