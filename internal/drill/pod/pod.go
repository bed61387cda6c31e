// Package pod runs one replica of the drill as a Kubernetes pod would run:
// a process with its own port, a readiness probe, and the kubelet's
// termination sequence.
//
// Termination (Terminate), as the kubelet does it, with T0 = deletion:
//
//	T0          the pod is terminating: the owner removes it from the
//	            endpoints (the balancer learns it after its lag) and, at
//	            the same moment, the preStop hook starts (a sleep, or
//	            `sh -c CMD` with POD_PID set to the process id).
//	T0+preStop  the stop signal (SIGTERM by default) is sent to the process
//	            (not its children: a shell as PID 1 does not forward it).
//	            If preStop is still running at T0+grace, it is abandoned and
//	            the signal sent then.
//	SIGKILL     max(grace − time spent in preStop, 2 s) after the signal:
//	            every process of the replica is killed.
//
// A replica is its command and every process the command starts, however
// it detaches (setsid, double fork): on Linux each replica and each preStop
// hook runs under a small supervisor (this binary, re-executed) that is a
// child subreaper, so that nothing of a replica survives its end, its
// SIGKILL, or the drill itself being killed (see shim_linux.go). When the
// command exits, what is left of its tree is killed, as a container's
// processes die with its PID 1. The exit is recorded when the command
// exits, whoever still holds its output.
//
// Liveness is not probed (the drill never restarts a replica, so the rule
// "liveness stops at deletion" holds trivially); readiness probing goes on
// until the process exits, and its results while terminating are recorded.
package pod

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// Probe describes the readiness probe.
type Probe struct {
	// Kind is "http" (GET Path, 200–399 is success) or "tcp" (connect).
	Kind string
	// Admin probes ADMIN_PORT instead of PORT.
	Admin            bool
	Path             string
	InitialDelay     time.Duration
	Period           time.Duration
	Timeout          time.Duration
	SuccessThreshold int
	FailureThreshold int
}

// String renders the probe as the --readiness flag accepts it.
func (p Probe) String() string {
	if p.Kind == "tcp" {
		return "tcp"
	}
	if p.Admin {
		return "admin:" + p.Path
	}
	return p.Path
}

// Spec describes one replica.
type Spec struct {
	Name      string
	Revision  int
	Argv      []string
	Env       []string // full environment (KEY=VALUE)
	Port      int
	AdminPort int
	Probe     Probe
	MinReady  time.Duration
	Grace     time.Duration
	// PreStopSleep is a sleep action; PreStopCommand, if set, is run with
	// `sh -c` instead.
	PreStopSleep   time.Duration
	PreStopCommand string
	StopSignal     syscall.Signal
	// OnChange is called (from the pod's goroutines, serially) whenever
	// the pod's readiness, serving or terminating state changes or it exits.
	OnChange func(*Pod)
	// OnEvent receives lifecycle events, serially.
	OnEvent func(Event)
	// Epoch is the time events are measured from.
	Epoch time.Time
}

// Event is one lifecycle event of a replica.
type Event struct {
	At      time.Duration `json:"at"` // since Spec.Epoch
	Replica string        `json:"replica"`
	Kind    string        `json:"kind"`
	Detail  string        `json:"detail,omitempty"`
}

// Event kinds.
const (
	EventStarted     = "started"
	EventReady       = "ready"
	EventUnready     = "unready"
	EventAvailable   = "available"
	EventTerminating = "terminating"
	EventPreStopDone = "prestop-done"
	EventSignal      = "signal"
	EventSIGKILL     = "sigkill"
	EventExited      = "exited"
	EventProbe       = "probe" // readiness result while terminating
)

// ProbeResult is one readiness probe made while the replica was
// terminating: the trace's own type, so a Lifecycle goes into the trace
// as it is.
type ProbeResult = trace.Probe

// Lifecycle is what happened to a replica (trace.Replica: zero durations
// mean "did not happen"; times are since Spec.Epoch). The pod fills every
// field but ProbeKind, which the backend that probes it sets.
type Lifecycle = trace.Replica

// Pod is a running replica.
type Pod struct {
	spec     Spec
	proc     *proc
	out      *tailBuffer
	done     chan struct{} // nothing of the replica is left
	exitCh   chan struct{} // the command has exited
	termCh   chan struct{}
	probeNow chan struct{}
	term     sync.Once
	cleanup  atomic.Bool
	readyGen int         // bumped on every ready/unready transition
	avail    *time.Timer // minReadySeconds timer
	cbMu     sync.Mutex  // serializes OnChange/OnEvent

	mu          sync.Mutex
	lc          Lifecycle
	ready       bool
	readyAt     time.Time
	available   bool
	serving     bool
	terminating bool
	exited      bool
}

// Start starts the replica's process and its readiness probe.
func Start(spec Spec) (*Pod, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("pod: empty command")
	}
	if spec.StopSignal == 0 {
		spec.StopSignal = syscall.SIGTERM
	}
	p := &Pod{spec: spec, out: &tailBuffer{max: 16 << 10}, done: make(chan struct{}), exitCh: make(chan struct{}), termCh: make(chan struct{}), probeNow: make(chan struct{}, 1)}
	p.lc = Lifecycle{Name: spec.Name, Revision: spec.Revision, Port: spec.Port, AdminPort: spec.AdminPort}
	path, err := exec.LookPath(spec.Argv[0])
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Argv[0], err)
	}
	p.proc, err = startProc(path, spec.Argv, spec.Env, p.out)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Argv[0], err)
	}
	p.mu.Lock()
	p.lc.PID = p.proc.pid
	p.lc.Started = p.since()
	p.mu.Unlock()
	p.event(EventStarted, "pid "+strconv.Itoa(p.proc.pid))
	go func() {
		p.proc.run(p.recordExit)
		close(p.done)
	}()
	go p.probeLoop()
	return p, nil
}

func (p *Pod) since() time.Duration { return time.Since(p.spec.Epoch) }

func (p *Pod) event(kind, detail string) {
	if p.spec.OnEvent == nil {
		return
	}
	p.cbMu.Lock()
	defer p.cbMu.Unlock()
	p.spec.OnEvent(Event{At: p.since(), Replica: p.spec.Name, Kind: kind, Detail: detail})
}

func (p *Pod) changed() {
	if p.spec.OnChange == nil {
		return
	}
	p.cbMu.Lock()
	defer p.cbMu.Unlock()
	p.spec.OnChange(p)
}

// recordExit records the command's exit at the time it happened (not when
// its output pipe closed: a process it left behind may hold that).
func (p *Pod) recordExit(ws syscall.WaitStatus, at time.Time) {
	p.mu.Lock()
	p.exited = true
	p.ready, p.serving, p.available = false, false, false
	p.lc.Exited = at.Sub(p.spec.Epoch)
	p.lc.StoppedAtEnd = p.cleanup.Load() && !p.terminating
	p.lc.Unexpected = !p.terminating && !p.lc.StoppedAtEnd
	var detail string
	switch {
	case ws.Exited():
		p.lc.ExitCode = ws.ExitStatus()
		detail = "code " + strconv.Itoa(p.lc.ExitCode)
	case ws.Signaled():
		p.lc.ExitCode = -1
		p.lc.ExitSignal = SignalName(ws.Signal())
		detail = "killed by " + p.lc.ExitSignal
	default:
		p.lc.ExitCode = -1
		detail = "wait status " + strconv.Itoa(int(ws))
	}
	if p.avail != nil {
		p.avail.Stop()
	}
	p.mu.Unlock()
	close(p.exitCh)
	p.event(EventExited, detail)
	p.changed()
}

// Done is closed when the process has exited and no process it started
// is left.
func (p *Pod) Done() <-chan struct{} { return p.done }

// Name is the replica's name.
func (p *Pod) Name() string { return p.spec.Name }

// Revision is the replica's revision (0 before the first rollout).
func (p *Pod) Revision() int { return p.spec.Revision }

// Addr is the service address, 127.0.0.1:PORT.
func (p *Pod) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.spec.Port)) }

// State returns the pod's current flags.
func (p *Pod) State() (ready, available, serving, terminating, exited bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready, p.available, p.serving, p.terminating, p.exited
}

// markAvailable makes the pod available if it stayed ready since gen.
func (p *Pod) markAvailable(gen int) {
	p.mu.Lock()
	ok := p.readyGen == gen && p.ready && !p.available && !p.terminating && !p.exited
	if ok {
		p.available = true
		p.lc.Available = p.since()
	}
	p.mu.Unlock()
	if ok {
		p.event(EventAvailable, "")
	}
}

// Lifecycle returns a copy of what happened so far.
func (p *Pod) Lifecycle() Lifecycle {
	p.mu.Lock()
	defer p.mu.Unlock()
	lc := p.lc
	lc.TermProbes = append([]ProbeResult(nil), p.lc.TermProbes...)
	// The output is copied apart from the exit: take its latest tail.
	lc.Output = p.out.String()
	return lc
}

// Output returns the tail of the replica's stdout and stderr.
func (p *Pod) Output() string { return p.out.String() }

func (p *Pod) probeURL() string {
	port := p.spec.Port
	if p.spec.Probe.Admin {
		port = p.spec.AdminPort
	}
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + p.spec.Probe.Path
}

// probeOnce returns the HTTP status (0 for tcp or no answer) and whether
// the probe succeeded.
func (p *Pod) probeOnce(client *http.Client) (int, error) {
	pr := p.spec.Probe
	if pr.Kind == "tcp" {
		c, err := net.DialTimeout("tcp", p.Addr(), pr.Timeout)
		if err != nil {
			return 0, err
		}
		c.Close()
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pr.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.probeURL(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

func (p *Pod) probeLoop() {
	// A fresh connection per probe, like the kubelet.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	pr := p.spec.Probe
	select {
	case <-time.After(pr.InitialDelay):
	case <-p.done:
		return
	}
	ticker := time.NewTicker(pr.Period)
	defer ticker.Stop()
	succ, fail := 0, 0
	for {
		status, err := p.probeOnce(client)
		p.mu.Lock()
		if p.exited {
			p.mu.Unlock()
			return
		}
		changed := false
		var ev string
		if err == nil {
			succ, fail = succ+1, 0
			if !p.serving && succ >= pr.SuccessThreshold {
				p.serving, changed = true, true
				if !p.terminating {
					p.ready, p.readyAt = true, time.Now()
					p.readyGen++
					if p.lc.Ready == 0 {
						p.lc.Ready = p.since()
					}
					ev = EventReady
					gen := p.readyGen
					if p.avail != nil {
						p.avail.Stop()
					}
					p.avail = time.AfterFunc(p.spec.MinReady, func() { p.markAvailable(gen) })
				}
			}
		} else {
			succ, fail = 0, fail+1
			if p.serving && fail >= pr.FailureThreshold {
				p.serving, p.ready, changed = false, false, true
				if !p.terminating {
					p.available = false
					p.readyGen++
					ev = EventUnready
				}
			}
		}
		if p.terminating {
			r := ProbeResult{At: p.since(), Status: status}
			if err != nil {
				r.Err = err.Error()
			}
			p.lc.TermProbes = append(p.lc.TermProbes, r)
		}
		p.mu.Unlock()
		if ev != "" {
			p.event(ev, "")
		}
		if changed {
			p.changed()
		}
		select {
		case <-ticker.C:
		case <-p.probeNow:
		case <-p.done:
			return
		}
	}
}

// Terminate deletes the pod: it returns at once and runs the kubelet's
// termination sequence in the background. Calling it again does nothing.
func (p *Pod) Terminate() {
	p.term.Do(func() {
		p.mu.Lock()
		if p.exited {
			p.terminating = true
			p.mu.Unlock()
			return
		}
		p.terminating = true
		p.ready, p.available = false, false
		p.lc.Terminating = p.since()
		p.mu.Unlock()
		close(p.termCh)
		p.event(EventTerminating, "")
		p.changed()
		go p.terminate(time.Now())
	})
}

func (p *Pod) terminate(t0 time.Time) {
	grace := time.NewTimer(p.spec.Grace)
	defer grace.Stop()
	// preStop, racing the endpoint removal the owner just started.
	var hook <-chan struct{}
	var hookProc *proc
	switch {
	case p.spec.PreStopCommand != "":
		// The hook is a container of its own under the supervisor: it and
		// whatever it starts are killed when it is abandoned, when it
		// exits, or when the drill dies.
		env := append(append([]string(nil), p.spec.Env...), "POD_PID="+strconv.Itoa(p.proc.pid))
		ch := make(chan struct{})
		hook = ch
		var err error
		hookProc, err = startProc("/bin/sh", []string{"/bin/sh", "-c", p.spec.PreStopCommand}, env, p.out)
		if err != nil {
			fmt.Fprintf(p.out, "drill: preStop: %v\n", err)
			close(ch)
		} else {
			go func() { hookProc.run(func(syscall.WaitStatus, time.Time) {}); close(ch) }()
			defer func() { // do not leave it behind the replica
				hookProc.killAll()
				<-ch
			}()
		}
	case p.spec.PreStopSleep > 0:
		t := time.NewTimer(p.spec.PreStopSleep)
		defer t.Stop()
		ch := make(chan struct{})
		hook = ch
		go func() {
			select {
			case <-t.C:
			case <-p.exitCh:
			}
			close(ch)
		}()
	}
	if hook != nil {
		detail := ""
		select {
		case <-hook:
		case <-p.exitCh:
		case <-grace.C:
			detail = "abandoned at the grace deadline"
			if hookProc != nil {
				hookProc.killAll()
			}
		}
		p.mu.Lock()
		p.lc.PreStopDone = p.since()
		p.mu.Unlock()
		p.event(EventPreStopDone, detail)
	}
	select {
	case <-p.exitCh:
		return // exited during preStop (e.g. the hook stopped it)
	default:
	}
	p.proc.signal(p.spec.StopSignal) // to the command only, as to a container's PID 1
	p.mu.Lock()
	p.lc.SignalSent = p.since()
	p.lc.Signal = SignalName(p.spec.StopSignal)
	p.mu.Unlock()
	p.event(EventSignal, SignalName(p.spec.StopSignal))
	// One extra readiness probe shortly after the signal, whatever the
	// period, so that the drill can tell whether readiness went non-2xx.
	extra := time.AfterFunc(250*time.Millisecond, func() {
		select {
		case p.probeNow <- struct{}{}:
		default:
		}
	})
	defer extra.Stop()
	killAfter := max(p.spec.Grace-time.Since(t0), 2*time.Second)
	kill := time.NewTimer(killAfter)
	defer kill.Stop()
	select {
	case <-p.exitCh:
	case <-kill.C:
		p.proc.killAll()
		p.mu.Lock()
		p.lc.Killed = p.since()
		p.mu.Unlock()
		p.event(EventSIGKILL, "grace period over")
		<-p.done
	}
}

// Kill kills every process of the replica at once (cleanup) and waits
// until none is left.
func (p *Pod) Kill() {
	p.cleanup.Store(true)
	p.proc.killAll()
	<-p.done
}

// SignalName returns the conventional name of s, such as "SIGTERM".
func SignalName(s os.Signal) string {
	if sig, ok := s.(syscall.Signal); ok {
		switch sig {
		case syscall.SIGTERM:
			return "SIGTERM"
		case syscall.SIGINT:
			return "SIGINT"
		case syscall.SIGQUIT:
			return "SIGQUIT"
		case syscall.SIGKILL:
			return "SIGKILL"
		case syscall.SIGHUP:
			return "SIGHUP"
		case syscall.SIGUSR1:
			return "SIGUSR1"
		case syscall.SIGUSR2:
			return "SIGUSR2"
		case syscall.SIGWINCH:
			return "SIGWINCH"
		}
	}
	return s.String()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if over := t.b.Len() - t.max; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String()
}
