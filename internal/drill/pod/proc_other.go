//go:build unix && !linux

package pod

import (
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// proc is a command run as a container. Outside Linux there is no child
// subreaper and no parent-death signal: the command runs in its own
// process group, which is what SIGKILL reaches, and only the drill's own
// cleanup stops it.
type proc struct {
	pid     int
	cmd     *exec.Cmd
	outR    *os.File
	outDone chan struct{}
	done    chan struct{}
}

func startProc(path string, argv, env []string, out io.Writer) (*proc, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Stdout: outW, Stderr: outW, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	err = cmd.Start()
	outW.Close()
	if err != nil {
		outR.Close()
		return nil, err
	}
	pr := &proc{pid: cmd.Process.Pid, cmd: cmd, outR: outR, outDone: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(pr.outDone)
		_, _ = io.Copy(out, outR)
	}()
	return pr, nil
}

func (pr *proc) run(onExit func(ws syscall.WaitStatus, at time.Time)) {
	_ = pr.cmd.Wait() // the process only: its output is an *os.File
	at := time.Now()
	_ = syscall.Kill(-pr.pid, syscall.SIGKILL)
	select {
	case <-pr.outDone:
	case <-time.After(500 * time.Millisecond):
	}
	onExit(pr.cmd.ProcessState.Sys().(syscall.WaitStatus), at)
	select {
	case <-pr.outDone:
	case <-time.After(2 * time.Second):
		pr.outR.Close()
		<-pr.outDone
	}
	pr.outR.Close()
	close(pr.done)
}

func (pr *proc) signal(sig syscall.Signal) { _ = syscall.Kill(pr.pid, sig) }

func (pr *proc) killAll() { _ = syscall.Kill(-pr.pid, syscall.SIGKILL) }
