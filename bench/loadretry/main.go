// Command loadretry measures what `lameduck load --retry` costs against the
// same load without it: it runs the lameduck binary's load command, in
// alternating order, against one server at a fixed rate, and prints per
// round and as medians the latency percentiles (from the load's own
// records) and the load process's CPU time per request (user + system, from
// the exited process). bench/loadretry.sh builds and starts everything.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/kube/podload"
)

type result struct {
	p50, p99, max time.Duration
	cpuPerReq     time.Duration
	sent, failed  int64
	retried       int64
}

func main() {
	bin := flag.String("lameduck", "lameduck", "the lameduck binary")
	url := flag.String("url", "", "target URL")
	method := flag.String("method", "GET", "HTTP method")
	rate := flag.Int("rate", 500, "requests per second")
	secs := flag.Duration("duration", 10*time.Second, "load duration per run")
	rounds := flag.Int("rounds", 5, "rounds (each runs both, order swapped every round)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadretry: -url is required")
		os.Exit(2)
	}
	run := func(retry bool, round int) result {
		args := []string{"load", "--url", *url, "--method", *method, "--rate", strconv.Itoa(*rate),
			"--duration", secs.String(), "--timeout", "5s", "--run-id", fmt.Sprintf("b%d", round)}
		if retry {
			args = append(args, "--retry")
		}
		var out bytes.Buffer
		cmd := exec.Command(*bin, args...)
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "loadretry:", err)
			os.Exit(1)
		}
		recs, sum, err := podload.Decode(&out)
		if err != nil || sum == nil {
			fmt.Fprintln(os.Stderr, "loadretry: decode:", err)
			os.Exit(1)
		}
		var lat []time.Duration
		for _, r := range recs {
			lat = append(lat, r.Latency)
		}
		slices.Sort(lat)
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return result{p50: pct(lat, .50), p99: pct(lat, .99), max: lat[len(lat)-1], cpuPerReq: cpu / time.Duration(max(sum.Sent, 1)),
			sent: sum.Sent, failed: sum.Failed, retried: sum.Retried}
	}
	var plain, retried []result
	fmt.Printf("%d rounds, %d req/s for %s each, %s %s\n", *rounds, *rate, *secs, *method, *url)
	fmt.Println("round  mode      sent  failed  retried      p50       p99       max   CPU/req")
	for i := range *rounds {
		order := []bool{false, true}
		if i%2 == 1 {
			order = []bool{true, false}
		}
		for _, retry := range order {
			r := run(retry, i)
			mode := "plain"
			if retry {
				mode = "--retry"
				retried = append(retried, r)
			} else {
				plain = append(plain, r)
			}
			fmt.Printf("%5d  %-7s %6d %7d %8d %8s %9s %9s %9s\n", i+1, mode, r.sent, r.failed, r.retried,
				r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.max.Round(time.Microsecond), r.cpuPerReq.Round(100*time.Nanosecond))
		}
	}
	med := func(rs []result, f func(result) time.Duration) time.Duration {
		v := make([]time.Duration, 0, len(rs))
		for _, r := range rs {
			v = append(v, f(r))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	fmt.Println("medians:")
	for _, m := range []struct {
		name string
		f    func(result) time.Duration
	}{
		{"p50", func(r result) time.Duration { return r.p50 }},
		{"p99", func(r result) time.Duration { return r.p99 }},
		{"CPU/req", func(r result) time.Duration { return r.cpuPerReq }},
	} {
		a, b := med(plain, m.f), med(retried, m.f)
		fmt.Printf("  %-8s plain %9s  --retry %9s  ratio %.2f\n", m.name, a.Round(100*time.Nanosecond), b.Round(100*time.Nanosecond), float64(b)/float64(a))
	}
	var ratios []float64
	for i := range plain {
		ratios = append(ratios, float64(retried[i].cpuPerReq)/float64(plain[i].cpuPerReq))
	}
	slices.Sort(ratios)
	fmt.Printf("  CPU/req ratio per round: %.2f (min) .. %.2f (max), median %.2f\n", ratios[0], ratios[len(ratios)-1], ratios[len(ratios)/2])
}

// pct returns the p-quantile of sorted durations (nearest rank).
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
