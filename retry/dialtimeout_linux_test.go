package retry_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/blackhole"
	"github.com/lameduck-dev/lameduck/retry"
)

// A dial that times out (the Dialer's own Timeout: the SYNs went
// unanswered) sent nothing: the Transport retries it, and the retry,
// dialed afresh, gets through. A keyed POST reaches the server once.
func TestDialTimeoutRetried(t *testing.T) {
	hole := blackhole.Addr(t)
	var served log
	url := serve(t, okHandler(&served), nil, nil)
	good := strings.TrimPrefix(url, "http://")
	dials := 0
	d := &net.Dialer{Timeout: 200 * time.Millisecond}
	base := newBase(t, nil)
	base.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		dials++
		if dials == 1 {
			return d.DialContext(ctx, network, hole)
		}
		return d.DialContext(ctx, network, good)
	}
	var ev events
	req, _ := http.NewRequest("POST", url, strings.NewReader("x"))
	req.Header.Set(retry.HeaderKey, `"k1"`)
	code, _, err := do(retry.New(base, fast(&ev)), req)
	if err != nil || code != 200 {
		t.Fatalf("got %d %v, want 200 after a retry", code, err)
	}
	evs := ev.list()
	if len(evs) != 1 || evs[0].Reason != retry.ReasonUnprocessed || evs[0].Err == nil || !strings.Contains(evs[0].Err.Error(), "timeout") {
		t.Errorf("events %+v, want one unprocessed dial timeout", evs)
	}
	if n := len(served.list()); n != 1 || dials != 2 {
		t.Errorf("server received %d requests over %d dials, want 1 over 2", n, dials)
	}
}

// When the request's own deadline ends during the dial, the caller's
// budget is spent: the Transport does not retry and reports nothing.
func TestRequestDeadlineDuringDialNotRetried(t *testing.T) {
	hole := blackhole.Addr(t)
	var ev events
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+hole, nil)
	o := fast(&ev)
	o.MaxElapsed = time.Minute
	if _, _, err := do(retry.New(newBase(t, nil), o), req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the request's deadline", err)
	}
	if evs := ev.list(); len(evs) != 0 {
		t.Errorf("events %+v, want none", evs)
	}
}
