package report

import (
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRetriesLine: the retries line counts the retried attempts by the
// policy's reason and the requests that failed for good by why the client
// stopped, each sorted by name, and leaves out what is empty.
func TestRetriesLine(t *testing.T) {
	var b strings.Builder
	Chaos(&b, &analysis.Result{Retry: &analysis.RetryReport{Requests: 3, Attempts: 5, Saved: 1, FailedForGood: 2,
		ByReason:   map[string]int64{"unprocessed": 4, "connection_lost": 1},
		GaveUp:     map[string]int64{"time-budget": 1, "not-retried": 1},
		P99Retried: 2 * time.Second, MaxRetried: 3 * time.Second}})
	got := strings.Join(strings.Fields(b.String()), " ")
	want := "retries: 3 requests retried with their Idempotency-Key, 5 extra attempts (connection_lost 1, unprocessed 4); " +
		"1 succeeded after a retry, 2 failed for good (stopped on: not-retried 1, time-budget 1); retried requests p99"
	if !strings.HasPrefix(got, want) {
		t.Errorf("got  %q\nwant %q...", got, want)
	}
	b.Reset()
	Chaos(&b, &analysis.Result{Retry: &analysis.RetryReport{ByReason: map[string]int64{}}})
	if got := strings.Join(strings.Fields(b.String()), " "); got != "retries: 0 requests retried with their Idempotency-Key, 0 extra attempts; 0 succeeded after a retry, 0 failed for good" {
		t.Errorf("nothing retried: %q", got)
	}
}
