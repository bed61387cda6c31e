// Package demo holds the drill's demo service: it commits a per-request
// ledger and has the faults the drill's tests need. naive.go and
// graceful.go, side by side, are the program to read.
//
// It is the demo service of the drill: POST /incr answers
// 200 OK at once and increments the Redis key "counter" a little later, in
// the background. It is the classic graceful-shutdown experiment: after N
// acknowledged requests the counter must be exactly N, also when replicas
// are stopped in the middle of the traffic.
//
// The package holds the same service twice, side by side:
//
//   - naive.go: the unsafe pattern, faithfully — http.ListenAndServe, the
//     increment in a bare goroutine after time.Sleep, no signal handling.
//     SIGTERM kills the process with increments still pending, and the
//     listener disappears while load balancers still send traffic.
//   - graceful.go: the same handler on the lameduck library — app.Serve,
//     an admin server with /readyz, app.Go around the delayed increment and
//     app.Close for the Redis client.
//
// Configuration comes from the environment, as in a container:
//
//	PORT        service port (default 8080); the service listens on ":PORT"
//	ADMIN_PORT  admin port of the lameduck variant (default PORT+1000);
//	            /livez /readyz /phase /drain live there
//	REDIS_ADDR  Redis address (default 127.0.0.1:6379)
//
// Both variants answer GET /healthz with 200 on the service port (the naive
// variant has no other health endpoint).
package demo

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Key is the Redis key the service increments.
const Key = "counter"

// LedgerKey is the default Redis hash of committed request ids (the
// drill's --ledger redis:drill:ledger).
const LedgerKey = "drill:ledger"

// DefaultDelay is how long after answering the service increments the
// counter (the seed experiment used 5 s).
const DefaultDelay = 5 * time.Second

// Config configures either variant.
type Config struct {
	Addr      string        // service listen address, ":PORT"
	AdminAddr string        // admin listen address of the lameduck variant
	RedisAddr string        // Redis host:port
	Key       string        // counter key
	LedgerKey string        // hash of committed request ids; "" = none
	Delay     time.Duration // delay before the increment
	Fault     Fault         // a deliberate bug, for the drill's tests
}

// ConfigFromEnv reads PORT, ADMIN_PORT and REDIS_ADDR with lookup (nil
// means os.LookupEnv).
func ConfigFromEnv(lookup func(string) (string, bool), delay time.Duration) (Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	port := 8080
	if v, ok := lookup("PORT"); ok && v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p <= 0 || p > 65535 {
			return Config{}, fmt.Errorf("counter: invalid PORT %q: want a port number", v)
		}
		port = p
	}
	admin := port + 1000
	if v, ok := lookup("ADMIN_PORT"); ok && v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p <= 0 || p > 65535 {
			return Config{}, fmt.Errorf("counter: invalid ADMIN_PORT %q: want a port number", v)
		}
		admin = p
	}
	redisAddr := "127.0.0.1:6379"
	if v, ok := lookup("REDIS_ADDR"); ok && v != "" {
		redisAddr = v
	}
	if delay < 0 {
		return Config{}, fmt.Errorf("counter: invalid delay %v", delay)
	}
	return Config{
		Addr:      ":" + strconv.Itoa(port),
		AdminAddr: ":" + strconv.Itoa(admin),
		RedisAddr: redisAddr,
		Key:       Key,
		LedgerKey: ledgerKey(lookup),
		Delay:     delay,
	}, nil
}

// ledgerKey is LEDGER_KEY (set by the drill with --ledger redis:KEY).
func ledgerKey(lookup func(string) (string, bool)) string {
	v, _ := lookup("LEDGER_KEY")
	return v
}
