// Package sdmanager is a small stand-in for systemd on the service
// manager's side, for tests and for lameduck restart-drill: a NOTIFY_SOCKET
// that records sd_notify messages with the sender's process id, and
// socket activation of a command (listening sockets passed with
// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, as systemd passes them).
package sdmanager

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Message is one datagram received on the notify socket.
type Message struct {
	PID    int // the sender, from SCM_CREDENTIALS (0 where unsupported)
	At     time.Time
	Fields map[string]string // "READY" -> "1"
	Raw    string
}

// NotifySocket receives sd_notify datagrams.
type NotifySocket struct {
	Path string
	conn *net.UnixConn

	mu   sync.Mutex
	msgs []Message
	errs []error
	cond chan struct{} // closed and replaced on every message
	done chan struct{}
}

// ListenNotify opens a notify socket in dir.
func ListenNotify(dir string) (*NotifySocket, error) {
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	if err := passCred(conn); err != nil {
		conn.Close()
		return nil, err
	}
	n := &NotifySocket{Path: path, conn: conn, cond: make(chan struct{}), done: make(chan struct{})}
	go n.read()
	return n, nil
}

// Env is the NOTIFY_SOCKET assignment for a child's environment.
func (n *NotifySocket) Env() string { return "NOTIFY_SOCKET=" + n.Path }

func (n *NotifySocket) read() {
	defer close(n.done)
	buf := make([]byte, 4096)
	oob := make([]byte, 1024)
	for {
		nb, noob, _, _, err := n.conn.ReadMsgUnix(buf, oob)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			n.mu.Lock()
			n.errs = append(n.errs, err)
			n.mu.Unlock()
			continue
		}
		m := Message{At: time.Now(), Raw: string(buf[:nb]), Fields: map[string]string{}, PID: senderPID(oob[:noob])}
		for _, line := range strings.Split(m.Raw, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				m.Fields[k] = v
			}
		}
		n.mu.Lock()
		n.msgs = append(n.msgs, m)
		close(n.cond)
		n.cond = make(chan struct{})
		n.mu.Unlock()
	}
}

// Messages returns every message received so far.
func (n *NotifySocket) Messages() []Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Message(nil), n.msgs...)
}

// Wait returns the first message from index from on that satisfies match,
// and its index, or an error after timeout.
func (n *NotifySocket) Wait(from int, timeout time.Duration, match func(Message) bool) (Message, int, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		n.mu.Lock()
		for i := from; i < len(n.msgs); i++ {
			if match(n.msgs[i]) {
				m := n.msgs[i]
				n.mu.Unlock()
				return m, i, nil
			}
		}
		from = len(n.msgs)
		c := n.cond
		n.mu.Unlock()
		select {
		case <-c:
		case <-deadline.C:
			n.mu.Lock()
			errs := fmt.Sprint(n.errs)
			n.mu.Unlock()
			return Message{}, 0, fmt.Errorf("sdmanager: no matching notify message after %v (got %q, read errors %s)", timeout, n.raws(), errs)
		}
	}
}

func (n *NotifySocket) raws() []string {
	var r []string
	for _, m := range n.Messages() {
		r = append(r, fmt.Sprintf("%d:%s", m.PID, m.Raw))
	}
	return r
}

// Close closes the socket and waits for the reader to end.
func (n *NotifySocket) Close() error {
	err := n.conn.Close()
	<-n.done
	os.Remove(n.Path)
	return err
}

// Has reports whether m assigns k=v.
func (m Message) Has(k, v string) bool { return m.Fields[k] == v }

// Activate prepares cmd to receive files as socket-activated descriptors
// named by names, the way systemd passes them: from fd 3 on, with
// LISTEN_FDS and LISTEN_FDNAMES, and LISTEN_PID set to the process's own
// id. os/exec cannot know the child's pid before it runs, so the command
// is wrapped in "/bin/sh -c 'LISTEN_PID=$$ exec …'": the shell's pid is
// the service's, exec keeps it. os/exec puts the passed sockets in
// blocking mode (File.Fd), which the new process undoes when it makes its
// listener: start it only while no other process accepts on them, as a
// restart does (package upgrade passes raw descriptors instead).
func Activate(cmd *exec.Cmd, files []*os.File, names []string) {
	path := cmd.Path
	args := cmd.Args[1:]
	cmd.Path = "/bin/sh"
	cmd.Args = append([]string{"/bin/sh", "-c", `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`, path}, args...)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "LISTEN_FDS="+strconv.Itoa(len(files)), "LISTEN_FDNAMES="+strings.Join(names, ":"))
	cmd.ExtraFiles = append(files, cmd.ExtraFiles...)
}
