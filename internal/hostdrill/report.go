package hostdrill

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteTable writes results side by side, one row per run.
func WriteTable(w io.Writer, results []*Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\trestarts\tsent\tfailed\tper restart\trefused\treset\teof\t5xx\ttimeout\tother\tlost writes\tp99\tmax latency\tmax gap\texit codes\t")
	for _, r := range results {
		per := 0.0
		if r.Restarts > 0 {
			per = float64(r.Load.FailedTotal()) / float64(r.Restarts)
		}
		var gap time.Duration
		for _, g := range r.Gaps {
			gap = max(gap, g)
		}
		f := r.Load.Failed
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%v\t%v\t%v\t%v\t\n",
			r.Mode, r.Restarts, r.Load.Sent, r.Load.FailedTotal(), per,
			f[ClassRefused], f[ClassReset], f[ClassEOF], f[ClassStatus], f[ClassTimeout], f[ClassOther],
			r.Lost, r.Load.P99.Round(time.Millisecond), r.Load.MaxLatency.Round(time.Millisecond),
			gap.Round(time.Millisecond), r.ExitCodes)
	}
	tw.Flush()
}
