// Package logfile gives a lameduck service a log file that survives its
// restarts and its exit: opened for append and never truncated (a log
// shipper may still be reading what the previous process wrote), written
// without a user-space buffer (each slog record is one write(2), so a
// record written is a record the kernel has, even if the process dies right
// after), and synced to disk in Flushing, as the last closer and right after
// the exit summary.
//
//	f, err := logfile.FromEnv(nil) // $LAMEDUCK_LOG_FILE, or stderr
//	if err != nil { … exit 2 }
//	logger := f.Logger(nil)        // JSON records, synced after the exit summary
//	app := lameduck.New(lameduck.Options{Logger: logger})
//	f.Attach(app)                  // before any other Close: it syncs last
//	…
//	code := app.Run()
//	f.Close()
//	os.Exit(code)
package logfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/lameduck-dev/lameduck"
)

// Env names the log file: when set, FromEnv opens it for append.
const Env = "LAMEDUCK_LOG_FILE"

// Mode is the permission of a log file Open creates.
const Mode = 0o644

// SummaryMessage is the message of the record the App writes when it stops
// (see lameduck.App.Run); the handler of File.Handler syncs after it.
const SummaryMessage = "lameduck: stopped"

// File is a log destination: a file opened for append, or stderr. Its
// methods are safe for concurrent use.
type File struct {
	mu     sync.RWMutex // Write holds it shared, Close exclusively
	f      *os.File
	name   string
	owned  bool // Close closes f
	closed bool

	syncs atomic.Int64 // successful Syncs, for tests
}

// Open opens (creating it if needed) the file at path for appending. It
// never truncates: records of earlier runs stay, and a shipper reading
// the file never sees it shrink.
func Open(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, Mode)
	if err != nil {
		return nil, fmt.Errorf("logfile: %w", err)
	}
	return &File{f: f, name: path, owned: true}, nil
}

// Stderr returns a File writing to the process's standard error.
func Stderr() *File { return &File{f: os.Stderr, name: "stderr"} }

// FromEnv opens the file named by $LAMEDUCK_LOG_FILE, or returns Stderr
// when it is unset or empty. A nil lookup means os.LookupEnv.
func FromEnv(lookup func(string) (string, bool)) (*File, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if p, ok := lookup(Env); ok && strings.TrimSpace(p) != "" {
		f, err := Open(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("logfile: %s: %w", Env, err)
		}
		return f, nil
	}
	return Stderr(), nil
}

// Name returns the file's path, or "stderr".
func (f *File) Name() string { return f.name }

// Write writes p with a single write(2) in append mode. After Close it
// writes to stderr, so a record logged late is not lost.
func (f *File) Write(p []byte) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return os.Stderr.Write(p)
	}
	return f.f.Write(p)
}

// Sync commits the file to disk (fsync). It is a no-op for pipes and
// terminals, where there is nothing to sync.
func (f *File) Sync() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return nil
	}
	if err := f.f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("logfile: sync %s: %w", f.name, err)
	}
	f.syncs.Add(1)
	return nil
}

// Close syncs and closes the file (not stderr). Later writes go to stderr.
// Call it after App.Run returns: the App writes its exit summary after the
// last closer.
func (f *File) Close() error {
	err := f.Sync()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || !f.owned {
		return err
	}
	f.closed = true
	return errors.Join(err, f.f.Close())
}

// Attach syncs the file in app's Flushing phase and as a closer. Call it
// before registering other closers: closers run in reverse order, so the
// file is then synced after every other closer has logged.
func (f *File) Attach(app *lameduck.App) {
	app.Flush("log file "+f.name, func(context.Context) error { return f.Sync() })
	app.Close("log file "+f.name, f.Sync)
}

// Handler wraps h (which must write to f) so that f is synced right after
// the App's exit summary and after every lameduck error record (a cut-off,
// a second signal that exits at once): the records that matter most are
// on disk before the process exits.
func (f *File) Handler(h slog.Handler) slog.Handler { return &syncHandler{Handler: h, f: f} }

// Logger returns a logger writing JSON records to f through Handler.
func (f *File) Logger(opts *slog.HandlerOptions) *slog.Logger {
	return slog.New(f.Handler(slog.NewJSONHandler(f, opts)))
}

var _ io.Writer = (*File)(nil)

type syncHandler struct {
	slog.Handler
	f *File
}

func (h *syncHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Message == SummaryMessage || (r.Level >= slog.LevelError && strings.HasPrefix(r.Message, "lameduck: ")) {
		err = errors.Join(err, h.f.Sync())
	}
	return err
}

func (h *syncHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &syncHandler{Handler: h.Handler.WithAttrs(as), f: h.f}
}

func (h *syncHandler) WithGroup(name string) slog.Handler {
	return &syncHandler{Handler: h.Handler.WithGroup(name), f: h.f}
}
