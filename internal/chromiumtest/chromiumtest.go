// Package chromiumtest renders pages in a real headless Chromium for tests:
// the DOM after the page's scripts ran, and screenshots.
//
// It runs Debian's chromium (scripts/test.sh installs it when missing) as a
// separate process with --dump-dom or --screenshot: no DevTools protocol
// client, no Go dependency. A test that needs Chromium fails, never skips,
// when it is not installed.
package chromiumtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Binary returns the path of chromium, failing t when it is not installed.
func Binary(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: install Debian's chromium package (scripts/test.sh does)")
	return ""
}

// timeout bounds one Chromium run.
const timeout = 90 * time.Second

// run runs chromium headless with args and url, and returns its stdout.
// Every run gets a new profile directory; the flags keep it offline and
// quiet (no sandbox: the tests run as root in CI).
func run(t testing.TB, url string, args ...string) []byte {
	t.Helper()
	bin := Binary(t)
	profile := t.TempDir()
	argv := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + profile,
	}, args...)
	argv = append(argv, url)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, argv...)
	// Chromium starts helper processes: kill the whole group on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stderr limited
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.b)
	}
	return out
}

// DumpDOM loads url and returns the serialized DOM once the page's scripts
// ran (a virtual-time budget lets timers and the load event fire).
func DumpDOM(t testing.TB, url string) []byte {
	t.Helper()
	return run(t, url, "--virtual-time-budget=3000", "--dump-dom")
}

// DumpDOMAtLoad loads url and returns the DOM as soon as the page has
// loaded, without letting virtual time run (timings the page records with
// performance.now are then real).
func DumpDOMAtLoad(t testing.TB, url string) []byte {
	t.Helper()
	return run(t, url, "--dump-dom")
}

// Screenshot loads url in a width×height window and writes a PNG to file.
func Screenshot(t testing.TB, url, file string, width, height int) {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	run(t, url, "--virtual-time-budget=3000", "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--screenshot="+abs)
	if fi, err := os.Stat(abs); err != nil || fi.Size() == 0 {
		t.Fatalf("chromium wrote no screenshot to %s: %v", abs, err)
	}
}

// limited keeps the first 16 KiB written to it (chromium's stderr).
type limited struct{ b []byte }

func (l *limited) Write(p []byte) (int, error) {
	if room := 16<<10 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}
