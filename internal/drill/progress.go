package drill

import (
	"fmt"
	"sync"
	"time"
)

// cut shortens s to width columns (runes), ending with "…" when cut.
func cut(s string, width int) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	if width < 2 {
		return string(r[:max(width, 0)])
	}
	return string(r[:width-1]) + "…"
}

// progress starts the live status line, cut to the terminal width so that
// it never wraps; the returned func stops it and clears the line (safe to
// call twice).
func (r *runner) progress() func() {
	w := r.cfg.Progress
	if w == nil {
		return func() {}
	}
	width := r.cfg.Width
	if width <= 0 {
		width = 80
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
			}
			r.mu.Lock()
			phase, ld := r.phase, r.load
			r.mu.Unlock()
			line := fmt.Sprintf("%s +%.0fs %s", r.cfg.Name, r.since().Seconds(), phase)
			if ld != nil {
				line += fmt.Sprintf(" | %d sent, %d ok, %d failed", ld.sent.Load(), ld.ok.Load(), ld.failed.Load())
			}
			// The last column stays empty: some terminals wrap when it
			// is written.
			fmt.Fprint(w, "\r\033[K"+cut(line, width-1))
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(stop); <-done })
	}
}
