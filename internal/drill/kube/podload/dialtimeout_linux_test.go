package podload

import (
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/blackhole"
)

// TestRetryDialTimeout: against an address that drops SYNs (a Service
// with no ready endpoint once the kernel's ICMP rate limit is spent), the
// load with --retry abandons each dial after its connect timeout and
// dials again within the request's budget, instead of spending the budget
// on one dial; every abandoned dial is recorded as an unprocessed attempt.
// Without --retry the single dial takes the whole budget.
func TestRetryDialTimeout(t *testing.T) {
	url := "http://" + blackhole.Addr(t) + "/incr"
	sum, recs := runLoad(t, Spec{URL: url, Rate: 10, Duration: 150 * time.Millisecond, Timeout: 2500 * time.Millisecond, RunID: "bh", Retry: true})
	if sum.Sent < 1 || sum.Failed != sum.Sent || sum.Retried != sum.Sent {
		t.Fatalf("summary %+v, want every request failed after retries", sum)
	}
	for _, r := range recs {
		if r.Class != "timeout" || len(r.Attempts) < 1 {
			t.Errorf("record %+v: want a timeout after earlier attempts", r)
		}
		for i, a := range r.Attempts {
			if a.Class != "timeout" || !a.DialFail || a.Reason != "unprocessed" || a.Conn != 0 {
				t.Errorf("%s attempt %d %+v: want a dial timeout, no connection, retried as unprocessed", r.ID, i+1, a)
			}
		}
	}
	sum, recs = runLoad(t, Spec{URL: url, Rate: 10, Duration: 100 * time.Millisecond, Timeout: 1500 * time.Millisecond, RunID: "bh0"})
	if sum.Sent < 1 || sum.Failed != sum.Sent || sum.Retried != 0 {
		t.Fatalf("without --retry: summary %+v; want every request failed, none retried", sum)
	}
	for _, r := range recs {
		if r.Class != "timeout" || len(r.Attempts) != 0 {
			t.Errorf("without --retry: record %+v, want one timeout, no attempts", r)
		}
	}
}
