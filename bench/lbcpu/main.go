// Command lbcpu serves bench/balancer.sh, which compares the CPU the drill's
// balancer spends per request with haproxy's in TCP mode on the same load.
//
//	lbcpu balancer -backends A,B,C [-cpuprofile F]
//	    runs the drill's balancer (one node, every backend ready) in this
//	    process, prints "listening ADDR", and runs until SIGTERM or SIGINT.
//	lbcpu load -url URL -rate R -duration D [-close]
//	    sends GET URL at a constant rate with vegeta (keep-alive, or a new
//	    connection per request with -close) and prints
//	    "sent N ok N achieved R p50 D p99 D".
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/lameduck-dev/lameduck/internal/drill/balancer"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: lbcpu balancer|load [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "balancer":
		runBalancer(os.Args[2:])
	case "load":
		runLoad(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "lbcpu: unknown mode %q (balancer or load)\n", os.Args[1])
		os.Exit(2)
	}
}

func runBalancer(args []string) {
	fs := flag.NewFlagSet("balancer", flag.ExitOnError)
	backends := fs.String("backends", "", "comma-separated backend addresses")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file until exit")
	_ = fs.Parse(args)
	if *backends == "" {
		fmt.Fprintln(os.Stderr, "lbcpu balancer: -backends is required")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	b, err := balancer.New(balancer.Options{Nodes: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer b.Close()
	for i, addr := range strings.Split(*backends, ",") {
		b.Update(balancer.Endpoint{ID: fmt.Sprintf("b%d", i), Addr: addr, Ready: true, Serving: true})
	}
	for len(b.View(0)) < len(strings.Split(*backends, ",")) {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("listening", b.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

func runLoad(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "", "target URL")
	rate := fs.Int("rate", 5000, "requests per second")
	dur := fs.Duration("duration", 10*time.Second, "how long to send")
	closeConns := fs.Bool("close", false, "a new connection per request")
	_ = fs.Parse(args)
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		DisableKeepAlives:   *closeConns,
		DisableCompression:  true,
	}
	atk := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: tr, Timeout: 5 * time.Second}), vegeta.Workers(16), vegeta.MaxWorkers(64))
	var m vegeta.Metrics
	tgt := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: *url})
	for res := range atk.Attack(tgt, vegeta.ConstantPacer{Freq: *rate, Per: time.Second}, *dur, "lbcpu") {
		m.Add(res)
	}
	m.Close()
	ok := int64(float64(m.Requests) * m.Success)
	fmt.Printf("sent %d ok %d achieved %.0f p50 %s p99 %s\n", m.Requests, ok, m.Rate, m.Latencies.P50, m.Latencies.P99)
}
