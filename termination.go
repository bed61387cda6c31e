package lameduck

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// DefaultTerminationLog is where Kubernetes reads a container's
// termination message (terminationMessagePath), shown by
// "kubectl describe pod" and kept in the pod's status.
const DefaultTerminationLog = "/dev/termination-log"

// maxTerminationMessage is the kubelet's limit for one container's
// termination message.
const maxTerminationMessage = 4096

// writeTerminationMessage writes the exit summary to Options.TerminationLog
// when that file exists (Kubernetes creates it in every container), so the
// pod's status says how the last shutdown went and what it cut off.
func (a *App) writeTerminationMessage(r request, b Budget, code int) {
	path := a.cfg.TerminationLog
	if path == "" {
		path = DefaultTerminationLog
	}
	if path == "-" {
		return
	}
	if _, err := os.Stat(path); err != nil {
		return // not in a container with a termination log
	}
	msg := a.terminationMessage(r, b, code)
	if err := os.WriteFile(path, []byte(msg), 0o644); err != nil {
		a.log.log(slog.LevelWarn, "lameduck: cannot write the termination message", "path", path, "err", err)
	}
}

// terminationMessage is the exit summary in at most 4 KiB of text.
func (a *App) terminationMessage(r request, b Budget, code int) string {
	st := a.Stats()
	var sb strings.Builder
	fmt.Fprintf(&sb, "lameduck: exit %d: %s (trigger %s)\n", code, r.cause.Error(), r.src)
	fmt.Fprintf(&sb, "budget %v, used %v; served while draining %d, drained %d, refused %d, tasks done %d\n",
		b.Total, time.Since(r.at).Round(time.Millisecond), st.ServedDraining, st.Drained, st.Refused, st.TasksDone)
	a.mu.Lock()
	cut := append([]string(nil), a.cut...)
	a.mu.Unlock()
	if len(cut) > 0 || st.CutRequests+st.CutTasks > 0 {
		fmt.Fprintf(&sb, "cut off at the stop budget: %d requests, %d tasks:\n", st.CutRequests, st.CutTasks)
		for _, c := range cut {
			sb.WriteString("  " + c + "\n")
		}
	}
	s := sb.String()
	if len(s) > maxTerminationMessage {
		const more = "\n…(truncated)\n"
		cutAt := maxTerminationMessage - len(more)
		for cutAt > 0 && !utf8Start(s[cutAt]) {
			cutAt--
		}
		s = s[:cutAt] + more
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
