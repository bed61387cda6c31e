// Command counter runs the demo counter service (see package counter):
//
//	PORT=8080 REDIS_ADDR=127.0.0.1:6379 counter [--naive] [--delay 5s]
//
// It is the same program as `lameduck demo`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lameduck-dev/lameduck/examples/counter"
)

func main() {
	naive := flag.Bool("naive", false, "run the unsafe variant (no signal handling, untracked goroutine)")
	delay := flag.Duration("delay", counter.DefaultDelay, "delay between the 200 OK and the increment")
	flag.Parse()
	cfg, err := counter.ConfigFromEnv(nil, *delay)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *naive {
		err := counter.RunNaive(cfg)
		fmt.Fprintln(os.Stderr, "counter:", err) // it could not listen
		os.Exit(2)
	}
	os.Exit(counter.RunGraceful(cfg))
}
