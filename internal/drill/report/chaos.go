package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
)

// Chaos writes the --chaos kills (and what each caused) and the --retry
// summary; nothing when the run had neither.
func Chaos(w io.Writer, r *analysis.Result) {
	if c := r.Chaos; c != nil {
		Wrap(w, "  chaos: ", "    ", fmt.Sprintf("%s, %d kills", c.Spec, len(c.Kills)))
		for i, k := range c.Kills {
			Wrap(w, fmt.Sprintf("    kill %d: ", i+1), "      ", fmt.Sprintf("%s: %d requests failed, %d attempts retried, %d acknowledged writes lost, %d duplicated, %d phantom",
				analysis.KillText(k), k.Failed, k.Retried, k.Lost, k.Duplicated, k.Phantom))
		}
	}
	if rr := r.Retry; rr != nil {
		by, why, lat := "", "", ""
		if l := countList(rr.ByReason); l != "" {
			by = " (" + l + ")"
		}
		if l := countList(rr.GaveUp); l != "" {
			why = " (stopped on: " + l + ")"
		}
		if rr.Requests > 0 {
			lat = fmt.Sprintf("; retried requests p99 %s, max %s", ms(rr.P99Retried), ms(rr.MaxRetried))
		}
		Wrap(w, "  retries: ", "    ", fmt.Sprintf("%d requests retried with their Idempotency-Key, %d extra attempts%s; %d succeeded after a retry, %d failed for good%s%s",
			rr.Requests, rr.Attempts, by, rr.Saved, rr.FailedForGood, why, lat))
	}
}

// countList writes counts by name as "a 1, b 2", sorted by name; "" when
// there are none.
func countList(m map[string]int64) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
