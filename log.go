package lameduck

import (
	"context"
	"log/slog"
	"time"
)

// logger writes the App's structured log. Every record's message starts
// with "lameduck: " and phase changes carry a "phase" key, so tools (the
// drill, log pipelines) can follow a shutdown without parsing prose.
type logger struct{ l *slog.Logger }

func (g logger) get() *slog.Logger {
	if g.l == nil {
		return slog.Default()
	}
	return g.l
}

func (g logger) phase(p, from Phase, took time.Duration, attrs ...any) {
	args := append([]any{"phase", p.String(), "from", from.String(), "took", took}, attrs...)
	g.get().Info("lameduck: phase", args...)
}

func (g logger) taskFailed(name string, err error) {
	g.get().Error("lameduck: task failed", "task", name, "err", err)
}

func (g logger) panicked(kind, name string, v any, stack []byte) {
	g.get().Error("lameduck: panic", "kind", kind, "name", name, "panic", v, "stack", string(stack))
}

func (g logger) stillRunning(r running, at Phase) {
	args := []any{"kind", r.Kind, "name", r.Name, "age", r.Age.Round(time.Millisecond), "phase", at.String()}
	if r.Peer != "" {
		args = append(args, "peer", r.Peer)
	}
	g.get().Warn("lameduck: still running", args...)
}

func (g logger) log(level slog.Level, msg string, args ...any) {
	g.get().Log(context.Background(), level, msg, args...)
}
