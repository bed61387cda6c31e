// Command stoplatency measures how long a service takes to exit after
// SIGTERM, for each shutdown style of bench/helloserver:
//
//	idle:     SIGTERM with nothing in flight → process exit
//	inflight: a 200ms request in flight at SIGTERM; its response fully
//	          read by the client → process exit
//
// Usage: go run ./bench/stoplatency -bin /tmp/helloserver -n 20
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "", "helloserver binary (go build -o BIN ./bench/helloserver)")
	n := flag.Int("n", 20, "runs per mode and case")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "stoplatency: -bin is required")
		os.Exit(2)
	}
	fmt.Printf("%-9s %-9s %10s %10s %10s   (n=%d)\n", "mode", "case", "p50", "p90", "max", *n)
	for _, mode := range []string{"lameduck", "stdlib", "sleep"} {
		for _, inflight := range []bool{false, true} {
			var ds []time.Duration
			for range *n {
				d, err := once(*bin, mode, inflight)
				if err != nil {
					fmt.Fprintln(os.Stderr, "stoplatency:", mode, err)
					os.Exit(1)
				}
				ds = append(ds, d)
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			c := "idle"
			if inflight {
				c = "inflight"
			}
			fmt.Printf("%-9s %-9s %10v %10v %10v\n", mode, c, ms(ds[len(ds)/2]), ms(ds[len(ds)*9/10]), ms(ds[len(ds)-1]))
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// once starts the server, optionally starts a 200ms request, sends SIGTERM
// and returns the time from SIGTERM (idle) or from the response (inflight)
// to the process's exit.
func once(bin, mode string, inflight bool) (time.Duration, error) {
	cmd := exec.Command(bin, "-mode", mode)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return 0, fmt.Errorf("no listening line: %v", err)
	}
	url := "http://" + strings.TrimSpace(strings.TrimPrefix(line, "listening "))
	exited := make(chan time.Time, 1)
	go func() { cmd.Wait(); exited <- time.Now() }()

	// Warm up the connection pool so the request below is in flight at once.
	if resp, err := http.Get(url + "/"); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	respAt := make(chan time.Time, 1)
	if inflight {
		go func() {
			resp, err := http.Get(url + "/slow?d=200ms")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			respAt <- time.Now()
		}()
		time.Sleep(50 * time.Millisecond)
	}
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	var end time.Time
	select {
	case end = <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		return 0, fmt.Errorf("did not exit")
	}
	http.DefaultClient.CloseIdleConnections()
	if inflight {
		at := <-respAt
		return end.Sub(at), nil
	}
	return end.Sub(sent), nil
}
