// Package upgrade replaces a running lameduck service with a new binary in
// place, without closing its listening sockets: the old process starts the
// new one with the sockets as inherited descriptors, waits until the new
// one is Serving, then drains through the usual phases (App.Handoff) while
// the new one already accepts. Old and new overlap; a new process that
// exits early or does not become ready in time leaves the old one serving
// as if nothing had happened.
//
//	app := lameduck.New(lameduck.Options{})
//	up, err := upgrade.New(app, upgrade.Options{})   // SIGHUP upgrades
//	ln, err := up.Listen("http", "tcp", ":8080")     // inherited, or a new socket
//	app.ServeListener(&http.Server{Handler: mux}, ln)
//	app.HandleAdmin("/upgrade", up.Handler())        // POST /upgrade upgrades too
//	systemd.Attach(app)
//	os.Exit(app.Run())
//
// Listen looks for the socket by name among the descriptors inherited from
// a previous process, then among those systemd passed (socket activation),
// and only then opens a new one, so one binary works started by hand, by
// systemd, and as its own successor.
//
// Under systemd (Type=notify, ExecReload=kill -HUP $MAINPID) the old
// process sends MAINPID=<new> once the new one is ready, so systemd follows
// the service to its new process with the default NotifyAccess=main; the
// old one sends nothing more (no STOPPING=1: the service is not stopping).
//
// What each way of restarting guarantees (docs/systemd.md measures them):
//   - a plain restart closes the socket: connections are refused until
//     the new process listens;
//   - SO_REUSEPORT lets two processes bind the same port, but each has its
//     own accept queue and connections queued on the one that closes are
//     reset, unless net.ipv4.tcp_migrate_req=1 (Linux 5.14+) moves them;
//   - socket activation (systemd holds the socket) and this package (the
//     same socket, inherited) keep one accept queue: no connection is
//     refused or dropped; with socket activation they wait while no
//     process runs, with an upgrade old and new overlap and nothing waits.
//
// It is the standard library only (fd passing with os/exec ExtraFiles and
// a readiness pipe) rather than github.com/cloudflare/tableflip: the
// handoff must go through lameduck's phases, speak sd_notify (MAINPID)
// and reuse the names of socket activation, which tableflip's own
// protocol and PID-file handoff do not; and the library keeps a
// standard-library import graph.
package upgrade

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/systemd"
)

// Environment variables from an upgrading process to its successor.
const (
	// EnvFDNames names the descriptors passed from fd 3 on, colon-separated.
	EnvFDNames = "LAMEDUCK_UPGRADE_FDNAMES"
	// EnvReadyFD is the descriptor the successor writes one byte to once
	// it is Serving.
	EnvReadyFD = "LAMEDUCK_UPGRADE_READY_FD"
	// EnvHeld names the descriptors systemd holds too (socket activation).
	EnvHeld = "LAMEDUCK_UPGRADE_HELD"
)

// Defaults for Options.
const (
	DefaultReadyTimeout = 30 * time.Second
	DefaultDrain        = time.Second
	DefaultKillAfter    = 10 * time.Second
)

// Errors of Upgrade.
var (
	ErrInProgress = errors.New("upgrade: an upgrade is already in progress")
	ErrNotServing = errors.New("upgrade: the process is not Serving")
	ErrFailed     = errors.New("upgrade: the new process failed; the old one goes on serving")
)

// Options configure an Upgrader. The zero value is ready to use.
type Options struct {
	// Command returns the successor's command: its Path, Args, Env and
	// Dir are used (the successor shares this process's stdin, stdout and
	// stderr). Default: this executable (os.Executable: the path it was
	// started from, so a binary replaced on disk is the one started) with
	// the same arguments and environment.
	Command func() (*exec.Cmd, error)
	// ReadyTimeout is how long the successor has to reach Serving.
	ReadyTimeout time.Duration
	// Drain is how long the old process goes on serving, with
	// "Connection: close" on every response, once the successor is ready:
	// long enough for keep-alive clients to send one more request each and
	// reconnect (to the successor) rather than have an idle connection
	// closed under them. New connections go to the successor from the
	// first instant. Default DefaultDrain; NoDrain for none.
	Drain time.Duration
	// KillAfter is how long a successor that did not become ready gets to
	// stop after SIGTERM before SIGKILL.
	KillAfter time.Duration
	// Signal triggers an upgrade. Default SIGHUP; NoSignal for none.
	Signal os.Signal
	// PIDFile, if set, is rewritten with the successor's pid once it is
	// ready (for supervisors without sd_notify).
	PIDFile string
}

// NoDrain is a Drain of zero.
const NoDrain time.Duration = -1

// NoSignal disables the upgrade signal.
var NoSignal os.Signal = noSignal{}

type noSignal struct{}

func (noSignal) String() string { return "none" }
func (noSignal) Signal()        {}

// Upgrader hands a process's listening sockets to a successor.
type Upgrader struct {
	app       *lameduck.App
	opts      Options
	inherited *systemd.Sockets
	fromPrev  bool // inherited from a previous process, not systemd
	held      map[string]bool

	mu        sync.Mutex
	listeners []named
	busy      bool
}

type named struct {
	name string
	l    *systemd.SharedListener
	held bool // systemd holds the socket too
}

// New returns an Upgrader for app. In a successor it takes the inherited
// descriptors and reports readiness to the predecessor when app enters
// Serving. It listens for the upgrade signal until app stops. Call it
// before app.Run.
func New(app *lameduck.App, opts Options) (*Upgrader, error) {
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	switch {
	case opts.Drain == 0:
		opts.Drain = DefaultDrain
	case opts.Drain < 0:
		opts.Drain = 0
	}
	if opts.KillAfter <= 0 {
		opts.KillAfter = DefaultKillAfter
	}
	if opts.Signal == nil {
		opts.Signal = syscall.SIGHUP
	}
	u := &Upgrader{app: app, opts: opts, held: map[string]bool{}}
	if v, ok := os.LookupEnv(EnvFDNames); ok {
		for _, n := range strings.Split(os.Getenv(EnvHeld), ":") {
			u.held[n] = n != ""
		}
		os.Unsetenv(EnvHeld)
		names := strings.Split(v, ":")
		if v == "" {
			names = nil
		}
		u.inherited = systemd.NewSockets(systemd.ListenFDsStart, len(names), names)
		u.fromPrev = true
		rfd, err := strconv.Atoi(os.Getenv(EnvReadyFD))
		os.Unsetenv(EnvFDNames)
		os.Unsetenv(EnvReadyFD)
		if err != nil {
			return nil, fmt.Errorf("upgrade: %s=%q: not a descriptor", EnvReadyFD, os.Getenv(EnvReadyFD))
		}
		syscall.CloseOnExec(rfd)
		go reportReady(app, os.NewFile(uintptr(rfd), "upgrade-ready"))
	} else {
		socks, err := systemd.Activated()
		if err != nil {
			return nil, err
		}
		u.inherited = socks
		for _, n := range socks.Names() {
			u.held[n] = true
		}
	}
	go u.releaseHeldOnStop()
	if opts.Signal != NoSignal {
		sigc := make(chan os.Signal, 1)
		signal.Notify(sigc, opts.Signal)
		go func() {
			defer signal.Stop(sigc)
			for {
				select {
				case <-sigc:
					_, _ = u.Upgrade(context.Background())
				case <-app.Entered(lameduck.Stopped):
					return
				}
			}
		}()
	}
	return u, nil
}

// releaseHeldOnStop stops accepting on the sockets systemd holds as soon
// as a shutdown that is not a handoff begins: connections wait in the
// accept queue for the next process instead (see systemd.Attach).
// Sockets nobody else holds go on accepting through Draining.
func (u *Upgrader) releaseHeldOnStop() {
	<-u.app.Entered(lameduck.Draining)
	if errors.Is(u.app.ShutdownCause(), lameduck.ErrHandoff) {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, n := range u.listeners {
		if n.held {
			n.l.Release()
		}
	}
}

// reportReady writes one byte to the predecessor once app is Serving, and
// closes the pipe without writing if the shutdown begins first.
func reportReady(app *lameduck.App, w *os.File) {
	defer w.Close()
	select {
	case <-app.Entered(lameduck.Serving):
		if app.Phase() == lameduck.Serving {
			_, _ = w.Write([]byte{1})
		}
	case <-app.Entered(lameduck.Draining):
	}
}

// Listen returns the listening socket named name: inherited from the
// previous process, else passed by systemd, else a new one from
// net.Listen(network, addr). Names must be unique.
func (u *Upgrader) Listen(name, network, addr string) (net.Listener, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, n := range u.listeners {
		if n.name == name {
			return nil, fmt.Errorf("upgrade: Listen(%q) called twice", name)
		}
	}
	var ln net.Listener
	if f := u.inherited.File(name); f != nil {
		var err error
		if ln, err = systemd.FileListener(f); err != nil {
			return nil, err
		}
	} else {
		var err error
		if ln, err = net.Listen(network, addr); err != nil {
			return nil, err
		}
		if ul, ok := ln.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false) // the successor serves the same path
		}
	}
	sl := systemd.Share(ln)
	u.listeners = append(u.listeners, named{name: name, l: sl, held: u.held[name]})
	return sl, nil
}

// Inherited reports whether this process took its sockets over from a
// previous one.
func (u *Upgrader) Inherited() bool { return u.fromPrev }

// Upgrade starts the successor and waits until it is Serving; then it
// tells systemd the successor is the main process (MAINPID=), rewrites
// the PID file, stops accepting and starts this process's shutdown with
// App.Handoff. It returns the successor's pid. When the successor exits
// or is not ready within ReadyTimeout (it then gets SIGTERM, and SIGKILL
// after KillAfter), the error wraps ErrFailed and this process goes on
// serving. Only one upgrade runs at a time (ErrInProgress), and only while
// Serving (ErrNotServing).
func (u *Upgrader) Upgrade(ctx context.Context) (pid int, err error) {
	log := u.app.Logger()
	u.mu.Lock()
	if u.busy {
		u.mu.Unlock()
		return 0, ErrInProgress
	}
	if ph := u.app.Phase(); ph != lameduck.Serving {
		u.mu.Unlock()
		return 0, fmt.Errorf("%w (phase %v)", ErrNotServing, ph)
	}
	u.busy = true
	ls := append([]named(nil), u.listeners...)
	u.mu.Unlock()
	handedOff := false
	defer func() {
		if !handedOff {
			u.mu.Lock()
			u.busy = false
			u.mu.Unlock()
		}
	}()
	start := time.Now()
	log.Info("upgrade: starting the new process", "sockets", len(ls))

	cmd, err := u.command()
	if err == nil {
		err = cmd.Err // exec.Command's lookup of the path
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrFailed, err)
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	names := make([]string, 0, len(ls))
	var held []string
	for _, n := range ls {
		if n.held {
			held = append(held, n.name)
		}
		f, err := n.l.File()
		if err != nil {
			return 0, fmt.Errorf("%w: socket %q: %v", ErrFailed, n.name, err)
		}
		files = append(files, f)
		names = append(names, n.name)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrFailed, err)
	}
	defer r.Close()
	files = append(files, w)
	// os/exec would call File.Fd, which puts each descriptor in blocking
	// mode, and the mode belongs to the socket shared with this process:
	// its own accept loop would then block in accept(2) and never close.
	// syscall.StartProcess takes raw descriptors and changes nothing.
	fds := []uintptr{0, 1, 2}
	for _, f := range files {
		fds = append(fds, rawFD(f))
	}
	env := append(successorEnv(cmd.Env),
		EnvFDNames+"="+strings.Join(names, ":"),
		EnvReadyFD+"="+strconv.Itoa(systemd.ListenFDsStart+len(ls)),
		EnvHeld+"="+strings.Join(held, ":"))
	pid, err = syscall.ForkExec(cmd.Path, cmd.Args, &syscall.ProcAttr{Dir: cmd.Dir, Env: env, Files: fds})
	if err != nil {
		return 0, fmt.Errorf("%w: start %s: %v", ErrFailed, cmd.Path, err)
	}
	proc, _ := os.FindProcess(pid)
	w.Close() // the successor holds the write end now: EOF means it is gone
	exited := make(chan error, 1)
	go func() {
		st, err := proc.Wait()
		if err == nil && !st.Success() {
			err = errors.New(st.String())
		}
		exited <- err
	}()

	readyc := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		n, err := r.Read(b)
		if n == 1 {
			readyc <- nil
			return
		}
		readyc <- fmt.Errorf("it closed the readiness pipe (%v)", err)
	}()
	timer := time.NewTimer(u.opts.ReadyTimeout)
	defer timer.Stop()
	fail := func(why string) (int, error) {
		err := fmt.Errorf("%w: pid %d %s", ErrFailed, pid, why)
		log.Error("upgrade: failed", "pid", pid, "err", err, "took", time.Since(start).Round(time.Millisecond))
		return 0, err
	}
	select {
	case err := <-readyc:
		if err != nil {
			// Wait for the exit status, which says more.
			select {
			case werr := <-exited:
				return fail(fmt.Sprintf("exited before it was ready: %v", exitStatus(werr)))
			case <-time.After(u.opts.KillAfter):
				go u.stop(proc, exited)
				return fail("stopped before it was ready: " + err.Error())
			}
		}
	case werr := <-exited:
		return fail(fmt.Sprintf("exited before it was ready: %v", exitStatus(werr)))
	case <-timer.C:
		go u.stop(proc, exited)
		return fail(fmt.Sprintf("was not ready after %v; sent SIGTERM", u.opts.ReadyTimeout))
	case <-ctx.Done():
		go u.stop(proc, exited)
		return fail("was abandoned: " + context.Cause(ctx).Error())
	}

	// The successor serves: hand over.
	if _, err := systemd.Notify(fmt.Sprintf("MAINPID=%d\nREADY=1\nSTATUS=lameduck: upgraded to pid %d", pid, pid)); err != nil {
		log.Warn("upgrade: notify systemd", "err", err)
	}
	if u.opts.PIDFile != "" {
		if err := writePIDFile(u.opts.PIDFile, pid); err != nil {
			log.Warn("upgrade: pid file", "err", err)
		}
	}
	for _, n := range ls {
		n.l.Release()
	}
	handedOff = true
	log.Info("upgrade: handed off", "pid", pid, "took", time.Since(start).Round(time.Millisecond), "drain", u.opts.Drain)
	u.app.Handoff(u.opts.Drain, fmt.Errorf("upgraded to pid %d", pid))
	return pid, nil
}

// stop ends a successor that failed: SIGTERM (it drains what it accepted),
// then SIGKILL after KillAfter.
func (u *Upgrader) stop(proc *os.Process, exited <-chan error) {
	_ = proc.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(u.opts.KillAfter):
		_ = proc.Kill()
		<-exited
	}
}

// rawFD returns f's descriptor without changing its mode (File.Fd would
// make it blocking).
func rawFD(f *os.File) uintptr {
	var fd uintptr
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(d uintptr) { fd = d })
	}
	return fd
}

func (u *Upgrader) command() (*exec.Cmd, error) {
	if u.opts.Command != nil {
		return u.opts.Command()
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = os.Environ()
	return cmd, nil
}

// successorEnv drops the variables that describe this process's own
// inherited descriptors.
func successorEnv(env []string) []string {
	if env == nil {
		env = os.Environ()
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case systemd.EnvListenPID, systemd.EnvListenFDs, systemd.EnvListenFDNames, EnvFDNames, EnvReadyFD, EnvHeld:
			continue
		}
		out = append(out, kv)
	}
	return out
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func writePIDFile(path string, pid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pid-*")
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(tmp, "%d\n", pid); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Handler upgrades on POST (mount it on the admin server, which must not
// be reachable from outside): 200 with the new pid, 409 while another
// upgrade runs or the process is not Serving, 500 when the new process
// failed (the old one goes on serving).
func (u *Upgrader) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "upgrade: use POST", http.StatusMethodNotAllowed)
			return
		}
		pid, err := u.Upgrade(r.Context())
		switch {
		case errors.Is(err, ErrInProgress), errors.Is(err, ErrNotServing):
			http.Error(w, err.Error(), http.StatusConflict)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			fmt.Fprintf(w, "upgraded: new pid %d\n", pid)
		}
	})
}
