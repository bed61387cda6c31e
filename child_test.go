package lameduck_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lameduck-dev/lameduck"
)

// The test binary doubles as the service under test: TestMain runs
// childMain instead of the tests in a process started by lameducktest.Start,
// so tests start real processes and send them real signals.

// childMain is a small lameduck service. It prints "ports <app> <admin>"
// on stdout once listening, logs JSON to stderr, and appends what its tasks
// and closers do to the file $LAMEDUCK_TEST_OUT, one line each.
func childMain() int {
	out := os.Getenv("LAMEDUCK_TEST_OUT")
	var mu sync.Mutex
	record := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			panic(err)
		}
		fmt.Fprintln(f, line)
		f.Close()
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app := lameduck.New(lameduck.Options{Logger: log, ServiceAccountDir: os.Getenv("LAMEDUCK_TEST_SA_DIR")})
	for _, name := range []string{"a", "b", "c"} {
		app.Close(name, func() error { record("close " + name); return nil })
	}
	if f := os.Getenv("LAMEDUCK_TEST_READY_FILE"); f != "" {
		app.ReadyCheck("ready-file", func(context.Context) error {
			_, err := os.Stat(f)
			return err
		})
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		time.Sleep(d)
		fmt.Fprintln(w, "slow done")
	})
	mux.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // only the cut-off cancels it
		record("hang cancelled: " + context.Cause(r.Context()).Error())
		http.Error(w, "cancelled", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("POST /work", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		id := r.URL.Query().Get("id")
		err := app.Go("work "+id, func(ctx context.Context) error {
			select {
			case <-time.After(d):
				record("task " + id + " done")
			case <-ctx.Done():
				record("task " + id + " cancelled")
			}
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "accepted", id)
	})
	mux.HandleFunc("GET /panic-handler", func(w http.ResponseWriter, r *http.Request) { panic("handler boom") })
	mux.HandleFunc("POST /panic", func(w http.ResponseWriter, r *http.Request) {
		_ = app.Go("doomed", func(context.Context) error { panic("boom") })
		fmt.Fprintln(w, "accepted")
	})

	mux.HandleFunc("POST /shutdown", func(w http.ResponseWriter, r *http.Request) {
		app.Shutdown(nil)
		fmt.Fprintln(w, "shutting down")
	})
	mux.HandleFunc("POST /fatal", func(w http.ResponseWriter, r *http.Request) {
		app.Fatal(errors.New("test: fatal"))
		fmt.Fprintln(w, "fatal")
	})
	// GET /ws hijacks the connection and returns at once, leaving it to a
	// goroutine (gorilla/websocket's chat pattern). The goroutine says
	// "bye" and closes when Stopping begins, unless ?stay=1: then it keeps
	// the connection until the cut-off closes it. With
	// $LAMEDUCK_TEST_ADOPT=1 the handler hands the connection to the App.
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
		buf.Flush()
		release := func() {}
		if os.Getenv("LAMEDUCK_TEST_ADOPT") == "1" {
			release = app.Adopt(r, conn)
		}
		stay := r.URL.Query().Get("stay") == "1"
		go func() {
			defer release()
			defer conn.Close()
			<-app.Entered(lameduck.Stopping)
			if stay {
				_, _ = io.Copy(io.Discard, conn) // until the App closes it
				record("ws closed by the app")
				return
			}
			time.Sleep(300 * time.Millisecond) // a close handshake
			_, _ = io.WriteString(conn, "bye\n")
		}()
	})
	if os.Getenv("LAMEDUCK_TEST_ADMIN_ON_SERVICE") == "1" {
		// What AdminHandler's doc comment used to suggest.
		mux.Handle("/admin/", http.StripPrefix("/admin", app.AdminHandler()))
	}

	addr := "127.0.0.1:0"
	if a := os.Getenv("LAMEDUCK_TEST_ADDR"); a != "" {
		addr = a
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		// Let the App report the port conflict itself.
		app.Serve(&http.Server{Addr: addr, Handler: mux})
		return app.Run()
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: mux}
	switch os.Getenv("LAMEDUCK_TEST_PROTO") {
	case "h2c":
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
	case "tls":
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned()}}
	}
	app.ServeListener(srv, ln)
	app.AdminListener(adminLn)
	fmt.Printf("ports %s %s\n", ln.Addr(), adminLn.Addr())
	return app.Run()
}

// findRecord returns the first log record with msg whose fields contain kv.
func findRecord(records []map[string]any, msg string, kv ...string) map[string]any {
next:
	for _, r := range records {
		if r["msg"] != msg {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if v := fmt.Sprint(r[kv[i]]); !strings.Contains(v, kv[i+1]) {
				continue next
			}
		}
		return r
	}
	return nil
}

// selfSigned returns a certificate for 127.0.0.1, made up on the spot.
func selfSigned() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
