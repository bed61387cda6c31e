package logfile

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHandlerSyncs checks which records make the handler sync the file.
func TestHandlerSyncs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	log := f.Logger(nil).With("svc", "x").WithGroup("g")
	for _, c := range []struct {
		level slog.Level
		msg   string
		sync  bool
	}{
		{slog.LevelInfo, "lameduck: phase", false},
		{slog.LevelError, "database down", false},
		{slog.LevelError, "lameduck: stop budget spent", true},
		{slog.LevelInfo, SummaryMessage, true},
		{slog.LevelError, SummaryMessage, true},
	} {
		n := f.syncs.Load()
		log.Log(t.Context(), c.level, c.msg)
		if got := f.syncs.Load() > n; got != c.sync {
			t.Errorf("%v %q: synced %v, want %v", c.level, c.msg, got, c.sync)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 5 {
		t.Errorf("%d records in the file, want 5:\n%s", n, data)
	}
}

// TestOpenAppends checks that Open never truncates.
func TestOpenAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	for i := range 3 {
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte{'a' + byte(i), '\n'}); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if data, _ := os.ReadFile(path); string(data) != "a\nb\nc\n" {
		t.Errorf("file holds %q, want %q", data, "a\nb\nc\n")
	}
}

func TestFromEnv(t *testing.T) {
	f, err := FromEnv(func(string) (string, bool) { return "", false })
	if err != nil || f.Name() != "stderr" {
		t.Errorf("FromEnv(unset) = %v, %v; want stderr", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		t.Errorf("Sync of stderr: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "x.log")
	if _, err := FromEnv(func(string) (string, bool) { return bad, true }); err == nil || !strings.Contains(err.Error(), Env) {
		t.Errorf("FromEnv(%s) error %v, want one naming %s", bad, err, Env)
	}
}
