package pod

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// The supervisor ("shim") that runs every replica and preStop hook on
// Linux. The drill starts it by re-executing its own binary
// (/proc/self/exe, which works from a `go test` binary and from a binary
// deleted or replaced since it started) with shimEnv set; the init
// function below then runs the shim instead of the program. The shim:
//
//   - becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so that every
//     process the command starts stays its descendant, also after a
//     setsid and a double fork;
//   - starts the command in its own process group, with the parent-death
//     signal SIGKILL (the shim's main thread is locked, so the signal
//     fires when the shim dies, not when some thread of it exits);
//   - reads one-byte orders on fd 3: a signal number to send to the
//     command (only the command, as the kubelet signals a container's
//     PID 1), or 0 to SIGKILL the whole tree. End of file on fd 3 means
//     the drill is gone (its descriptors are closed by the kernel whatever
//     killed it, SIGKILL included): the shim kills the whole tree;
//   - writes status lines on fd 4: "pid N" once the command runs (or
//     "error MSG" if it could not be started), then "exit W" (the raw wait
//     status) the moment it reaps the command;
//   - when the command has exited, SIGKILLs whatever is left of the tree
//     (a container's processes die with its PID 1), reaps it, and exits
//     the way the command did: same exit code, or killed by the same
//     signal.
const (
	shimEnv  = "LAMEDUCK_POD_SHIM"
	shimName = "lameduck-pod-supervisor"
	// killAllOrder is the order byte that SIGKILLs the whole tree.
	killAllOrder = 0
)

func init() {
	if os.Getenv(shimEnv) != "1" {
		return
	}
	runtime.LockOSThread()
	os.Exit(shimMain())
}

func shimMain() int {
	// Keep the pipes to the drill out of the command.
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	ctrl := os.NewFile(3, "ctrl")
	status := os.NewFile(4, "status")
	// Never write to stdout or stderr here: once the drill is gone they
	// are broken pipes, and a write to them would kill the shim with
	// SIGPIPE before it cleaned up.
	if len(os.Args) < 3 {
		fmt.Fprintf(status, "error usage: %s PATH ARGV0 [ARG...]\n", shimName)
		return 127
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		fmt.Fprintf(status, "error prctl(PR_SET_CHILD_SUBREAPER): %v\n", e)
		return 127
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, shimEnv+"=") {
			env = append(env, kv)
		}
	}
	// Signals sent to the shim by someone else go to the command, as tini
	// would do.
	fwd := make(chan os.Signal, 8)
	signal.Notify(fwd, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	pid, err := syscall.ForkExec(os.Args[1], os.Args[2:], &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		fmt.Fprintf(status, "error %v\n", err)
		return 127
	}
	fmt.Fprintf(status, "pid %d\n", pid)

	var mu sync.Mutex
	reaped := false // the command's PID is no longer ours to signal
	send := func(sig syscall.Signal) {
		mu.Lock()
		defer mu.Unlock()
		if !reaped {
			_ = syscall.Kill(pid, sig)
		}
	}
	go func() {
		for s := range fwd {
			send(s.(syscall.Signal))
		}
	}()
	go func() {
		b := make([]byte, 1)
		for {
			if _, err := ctrl.Read(b); err != nil {
				killTree() // the drill is gone
				return
			}
			if b[0] == killAllOrder {
				killTree()
			} else {
				send(syscall.Signal(b[0]))
			}
		}
	}()

	// Only this goroutine reaps: the command and every orphan that was
	// reparented to the shim.
	var ws syscall.WaitStatus
	for {
		var w syscall.WaitStatus
		got, err := syscall.Wait4(-1, &w, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil { // ECHILD: cannot happen while the command runs
			ws = w
			break
		}
		if got == pid {
			mu.Lock()
			reaped = true
			mu.Unlock()
			ws = w
			break
		}
	}
	fmt.Fprintf(status, "exit %d\n", uint32(ws))
	reapTree(5 * time.Second)
	signal.Stop(fwd)
	return exitLike(ws)
}

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER from <linux/prctl.h>.
const prSetChildSubreaper = 36

// killTree SIGKILLs every live descendant of the shim.
func killTree() int {
	n := 0
	for _, d := range descendants(os.Getpid()) {
		if !d.zombie {
			_ = syscall.Kill(d.pid, syscall.SIGKILL)
			n++
		}
	}
	return n
}

// reapTree kills and reaps descendants until none is left, or until
// limit: a process can fork between a /proc scan and its SIGKILL, and a
// process in uninterruptible sleep dies only when it wakes up.
func reapTree(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		killTree()
		for {
			var w syscall.WaitStatus
			got, err := syscall.Wait4(-1, &w, syscall.WNOHANG, nil)
			if err == syscall.EINTR {
				continue
			}
			if err != nil { // ECHILD: no child left at all
				if len(descendants(os.Getpid())) == 0 {
					return
				}
				break
			}
			if got == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type procEntry struct {
	pid    int
	zombie bool
}

// descendants lists the descendants of root from /proc.
func descendants(root int) []procEntry {
	dir, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer dir.Close()
	names, _ := dir.Readdirnames(-1)
	children := map[int][]procEntry{}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		ppid, state, ok := readStat(pid)
		if !ok {
			continue
		}
		children[ppid] = append(children[ppid], procEntry{pid: pid, zombie: state == 'Z' || state == 'X'})
	}
	var out []procEntry
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// readStat returns the parent PID and state of pid from /proc/PID/stat.
func readStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, false
	}
	return ppid, f[0][0], true
}

// exitLike ends the shim the way the command ended: the same exit code,
// or death by the same signal (without a core dump).
func exitLike(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		sig := ws.Signal()
		_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
		// Restore the default action: the Go runtime would otherwise catch
		// the signal (and turn SIGQUIT into a goroutine dump). An all-zero
		// struct sigaction is SIG_DFL with no flags and an empty mask on
		// every Linux architecture.
		var sa [64]byte
		_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
		_ = syscall.Tgkill(os.Getpid(), syscall.Gettid(), sig)
		_ = syscall.Kill(os.Getpid(), sig)
		time.Sleep(time.Second)
		return 128 + int(sig)
	default:
		return 1
	}
}

// proc is a command run under the shim, as a container: the command and
// everything it starts.
type proc struct {
	pid     int // the command's PID (the container's "PID 1")
	ctrl    *os.File
	cmd     *exec.Cmd
	status  *bufio.Reader
	statusR *os.File
	outR    *os.File
	outDone chan struct{}
	done    chan struct{}
}

// startProc starts argv (path is argv[0] resolved) under the shim, with
// its stdout and stderr copied to out. It returns once the command runs.
func startProc(path string, argv, env []string, out io.Writer) (*proc, error) {
	ctrlR, ctrlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	statR, statW, err := os.Pipe()
	if err != nil {
		ctrlR.Close()
		ctrlW.Close()
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		ctrlR.Close()
		ctrlW.Close()
		statR.Close()
		statW.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        append([]string{shimName, path}, argv...),
		Env:         append(env[:len(env):len(env)], shimEnv+"=1"),
		Stdout:      outW, // an *os.File: Wait does not wait for a copy
		Stderr:      outW,
		ExtraFiles:  []*os.File{ctrlR, statW},
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	ctrlR.Close()
	statW.Close()
	outW.Close()
	if err != nil {
		ctrlW.Close()
		statR.Close()
		outR.Close()
		return nil, fmt.Errorf("start supervisor: %w", err)
	}
	pr := &proc{ctrl: ctrlW, cmd: cmd, status: bufio.NewReader(statR), statusR: statR, outR: outR, outDone: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(pr.outDone)
		_, _ = io.Copy(out, outR)
	}()
	line, _ := pr.status.ReadString('\n')
	switch {
	case strings.HasPrefix(line, "pid "):
		pr.pid, err = strconv.Atoi(strings.TrimSpace(line[len("pid "):]))
		if err == nil {
			return pr, nil
		}
		err = fmt.Errorf("supervisor: bad status line %q", line)
		pr.killAll()
	case strings.HasPrefix(line, "error "):
		err = errors.New(strings.TrimSpace(line[len("error "):]))
	default:
		err = errors.New("supervisor exited before starting the command")
	}
	_ = cmd.Wait()
	pr.finish()
	return nil, err
}

// run waits for the command and its tree; onExit is called once with the
// command's wait status and the time it exited, after its output up to
// then is copied; done is closed when no process of the tree is left and
// all the output is copied.
func (pr *proc) run(onExit func(ws syscall.WaitStatus, at time.Time)) {
	var once sync.Once
	report := func(ws syscall.WaitStatus) {
		once.Do(func() {
			at := time.Now()
			waitOutput(pr.outDone)
			onExit(ws, at)
		})
	}
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		for {
			line, err := pr.status.ReadString('\n')
			if w, ok := strings.CutPrefix(line, "exit "); ok && strings.HasSuffix(w, "\n") {
				if n, err := strconv.ParseUint(strings.TrimSpace(w), 10, 32); err == nil {
					report(syscall.WaitStatus(n))
				}
			}
			if err != nil {
				return
			}
		}
	}()
	_ = pr.cmd.Wait()
	// The shim is gone: its status pipe is at end of file.
	select {
	case <-statusDone:
	case <-time.After(2 * time.Second):
		pr.statusR.Close()
		<-statusDone
	}
	// Reached only if the shim died before it reaped the command (it was
	// killed): its own status is the best there is.
	report(pr.cmd.ProcessState.Sys().(syscall.WaitStatus))
	pr.finish()
}

// waitOutput gives the output copy a moment to catch up with an exit, so
// that the exit's report holds the last lines before it (the supervisor
// kills what else holds the pipe right away).
func waitOutput(outDone <-chan struct{}) {
	select {
	case <-outDone:
	case <-time.After(500 * time.Millisecond):
	}
}

// finish drains the output (bounded: a process outside the tree could
// hold the pipe) and releases the pipes.
func (pr *proc) finish() {
	select {
	case <-pr.outDone:
	case <-time.After(2 * time.Second):
		pr.outR.Close()
		<-pr.outDone
	}
	pr.outR.Close()
	pr.statusR.Close()
	pr.ctrl.Close()
	close(pr.done)
}

// signal sends sig to the command only.
func (pr *proc) signal(sig syscall.Signal) { _, _ = pr.ctrl.Write([]byte{byte(sig)}) }

// killAll SIGKILLs the command and every process it started.
func (pr *proc) killAll() { _, _ = pr.ctrl.Write([]byte{killAllOrder}) }
