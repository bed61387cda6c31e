package systemd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Environment variables of socket activation (sd_listen_fds(3)).
const (
	EnvListenPID     = "LISTEN_PID"
	EnvListenFDs     = "LISTEN_FDS"
	EnvListenFDNames = "LISTEN_FDNAMES"
)

// ListenFDsStart is the first file descriptor passed by socket activation
// (SD_LISTEN_FDS_START).
const ListenFDsStart = 3

// ErrNoSocket is returned by Sockets.Listener for a name that was not
// passed.
var ErrNoSocket = errors.New("systemd: no inherited socket with that name")

// Sockets are the file descriptors a process inherited, by name. Each is
// handed out once (as a listener or as a file); the rest stay open.
type Sockets struct {
	mu     sync.Mutex
	files  []*os.File        // in order; nil once handed out
	shared []*SharedListener // handed out by Listener
}

var (
	activatedOnce sync.Once
	activated     *Sockets
	activatedErr  error
)

// Activated returns the sockets systemd passed to this process, parsed
// once from LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, which it then
// unsets so that child processes do not take them for their own. It
// returns an empty set when the variables are absent or LISTEN_PID names
// another process (the sockets were meant for a parent). Descriptors
// without a name are named "unknown", as systemd does.
func Activated() (*Sockets, error) {
	activatedOnce.Do(func() {
		n, names, err := parseListenFDs(os.LookupEnv, os.Getpid())
		for _, v := range []string{EnvListenPID, EnvListenFDs, EnvListenFDNames} {
			os.Unsetenv(v)
		}
		activated, activatedErr = NewSockets(ListenFDsStart, n, names), err
	})
	return activated, activatedErr
}

// parseListenFDs reads the activation variables with lookup for process
// pid: how many descriptors were passed (0 when they were meant for
// another process) and their names.
func parseListenFDs(lookup func(string) (string, bool), pid int) (n int, names []string, err error) {
	pidStr, ok := lookup(EnvListenPID)
	if !ok {
		return 0, nil, nil
	}
	p, err := strconv.Atoi(strings.TrimSpace(pidStr))
	if err != nil {
		return 0, nil, fmt.Errorf("systemd: %s=%q is not a process id", EnvListenPID, pidStr)
	}
	if p != pid {
		return 0, nil, nil
	}
	nStr, _ := lookup(EnvListenFDs)
	n, err = strconv.Atoi(strings.TrimSpace(nStr))
	if err != nil || n < 0 {
		return 0, nil, fmt.Errorf("systemd: %s=%q is not a count of file descriptors", EnvListenFDs, nStr)
	}
	if v, ok := lookup(EnvListenFDNames); ok && v != "" {
		names = strings.Split(v, ":")
	}
	return n, names, nil
}

// NewSockets returns the n descriptors from first on, named by names
// (missing names are "unknown"), marked close-on-exec. It is how both
// socket activation and an in-place upgrade (package upgrade) hand
// descriptors to a process.
func NewSockets(first, n int, names []string) *Sockets {
	s := &Sockets{}
	for i := range n {
		fd := first + i
		name := "unknown"
		if i < len(names) && names[i] != "" {
			name = names[i]
		}
		syscall.CloseOnExec(fd)
		s.files = append(s.files, os.NewFile(uintptr(fd), name))
	}
	return s
}

// Names lists the names of the descriptors not handed out yet, in order.
func (s *Sockets) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, f := range s.files {
		if f != nil {
			names = append(names, f.Name())
		}
	}
	return names
}

// File hands out the first descriptor named name, or nil.
func (s *Sockets) File(name string) *os.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.files {
		if f != nil && f.Name() == name {
			s.files[i] = nil
			return f
		}
	}
	return nil
}

// Listener hands out the first descriptor named name as a listener
// (error wrapping ErrNoSocket if there is none). The descriptor must be a
// listening stream socket (systemd's ListenStream=, Accept=no). Attach
// releases the listeners of the Activated set when the shutdown begins:
// systemd keeps the socket, so from then on connections wait for the next
// process instead of reaching one that is stopping.
func (s *Sockets) Listener(name string) (*SharedListener, error) {
	f := s.File(name)
	if f == nil {
		return nil, fmt.Errorf("%w: %q (inherited: %q)", ErrNoSocket, name, s.Names())
	}
	ln, err := FileListener(f)
	if err != nil {
		return nil, err
	}
	sl := Share(ln)
	s.mu.Lock()
	s.shared = append(s.shared, sl)
	s.mu.Unlock()
	return sl, nil
}

// release releases every listener handed out.
func (s *Sockets) release() {
	s.mu.Lock()
	shared := append([]*SharedListener(nil), s.shared...)
	s.mu.Unlock()
	for _, l := range shared {
		l.Release()
	}
}

// Listen returns the inherited listener named name, or, when there is
// none, a new one from net.Listen(network, addr): the same binary runs
// socket-activated and on its own.
func (s *Sockets) Listen(name, network, addr string) (net.Listener, error) {
	ln, err := s.Listener(name)
	if errors.Is(err, ErrNoSocket) {
		return net.Listen(network, addr)
	}
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// FileListener turns f, a listening socket, into a net.Listener and closes
// f (the listener holds its own duplicate). A Unix socket listener does not
// remove its socket file when closed: the file belongs to whoever created
// it (systemd, or the process that hands it on).
func FileListener(f *os.File) (net.Listener, error) {
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("systemd: inherited descriptor %q is not a listening socket: %w", f.Name(), err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}
	return ln, nil
}

// Close closes the descriptors not handed out.
func (s *Sockets) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i, f := range s.files {
		if f != nil {
			errs = append(errs, f.Close())
			s.files[i] = nil
		}
	}
	return errors.Join(errs...)
}
