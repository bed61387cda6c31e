package hostdrill

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Failure classes of a request.
const (
	ClassRefused = "refused"  // connection refused: nothing listened
	ClassReset   = "reset"    // connection reset by peer
	ClassEOF     = "eof"      // the connection closed before a response
	ClassTimeout = "timeout"  // no response within the client timeout
	ClassStatus  = "http-5xx" // a 5xx response (503 while stopping)
	ClassOther   = "other"
)

// LoadResult counts what a constant-rate load saw.
type LoadResult struct {
	Sent, OK int64
	// Failed counts failed requests by class.
	Failed map[string]int64
	// Skipped counts ticks the generator could not send because every
	// worker was busy (the rate was not held).
	Skipped int64
	// MaxLatency is the slowest successful request.
	MaxLatency time.Duration
	// P99 is the 99th percentile latency of successful requests.
	P99 time.Duration
}

// FailedTotal is the number of failed requests.
func (r LoadResult) FailedTotal() int64 {
	var n int64
	for _, v := range r.Failed {
		n += v
	}
	return n
}

// Load sends POST requests to url at a constant rate until ctx ends, with
// keep-alive connections (at most workers requests in flight), and counts
// successes and failures by class. Requests in flight when ctx ends run to
// completion (or the client timeout).
func Load(ctx context.Context, url string, rate, workers int, timeout time.Duration) LoadResult {
	tr := &http.Transport{
		MaxIdleConns:        workers,
		MaxIdleConnsPerHost: workers,
		IdleConnTimeout:     30 * time.Second,
		DialContext:         (&net.Dialer{Timeout: timeout}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}
	var (
		mu     sync.Mutex
		res    = LoadResult{Failed: map[string]int64{}}
		lats   []time.Duration
		wg     sync.WaitGroup
		sent   atomic.Int64
		slots  = make(chan struct{}, workers)
		ticker = time.NewTicker(time.Second / time.Duration(rate))
	)
	defer ticker.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-ticker.C:
		}
		select {
		case slots <- struct{}{}:
		default:
			mu.Lock()
			res.Skipped++
			mu.Unlock()
			continue
		}
		sent.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			start := time.Now()
			class := do(client, url)
			lat := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if class == "" {
				res.OK++
				lats = append(lats, lat)
				res.MaxLatency = max(res.MaxLatency, lat)
			} else {
				res.Failed[class]++
			}
		}()
	}
	wg.Wait()
	res.Sent = sent.Load()
	if len(lats) > 0 {
		sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
		res.P99 = lats[len(lats)*99/100]
	}
	return res
}

// do sends one request and returns its failure class, or "" on 200.
func do(client *http.Client, url string) string {
	resp, err := client.Post(url, "text/plain", nil)
	if err != nil {
		return Classify(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return Classify(err)
	case resp.StatusCode >= 500:
		return ClassStatus
	case resp.StatusCode != http.StatusOK:
		return ClassOther
	}
	return ""
}

// Classify names the failure class of a client error.
func Classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ClassReset
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return ClassTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(err.Error(), "server closed idle connection"):
		return ClassEOF
	}
	return ClassOther
}
