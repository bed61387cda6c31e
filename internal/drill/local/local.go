// Package local is the drill's emulation backend: replicas are processes
// of a command on this machine (package pod), the Service is an L4
// balancer with one view per node and a propagation lag (package
// balancer), and deletion follows the kubelet's termination order.
package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/backend"
	"github.com/lameduck-dev/lameduck/internal/drill/balancer"
	"github.com/lameduck-dev/lameduck/internal/drill/pod"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/lameduck-dev/lameduck/internal/freeport"
)

// Options configures the emulation.
type Options struct {
	Command []string
	// Env returns a replica's environment given its ports.
	Env            func(port, admin int) []string
	Probe          pod.Probe
	MinReady       time.Duration
	Grace          time.Duration
	PreStopSleep   time.Duration
	PreStopCommand string
	StopSignal     syscall.Signal
	Nodes          int
	// Lag returns the propagation lag of the next change on a node.
	Lag   func(node int) time.Duration
	Seed  uint64
	Epoch time.Time
	// Events receives lifecycle events as they happen.
	Events backend.EventSink
}

// Backend is the local emulation. It implements backend.Backend.
type Backend struct {
	opts Options
	bal  *balancer.Balancer

	mu    sync.Mutex
	pods  []*pod.Pod
	next  int
	evMu  sync.Mutex
	close sync.Once
}

var _ backend.Backend = (*Backend)(nil)

// New starts the balancer. Replicas come with Start.
func New(opts Options) (*Backend, error) {
	if len(opts.Command) == 0 {
		return nil, errors.New("local: no command")
	}
	bal, err := balancer.New(balancer.Options{Nodes: opts.Nodes, Lag: opts.Lag, Seed: opts.Seed})
	if err != nil {
		return nil, err
	}
	return &Backend{opts: opts, bal: bal}, nil
}

// Name implements backend.Backend.
func (b *Backend) Name() string { return "local" }

// Target implements backend.Backend: the balancer's address.
func (b *Backend) Target() string { return b.bal.Addr() }

// Nodes implements backend.Backend.
func (b *Backend) Nodes() int { return max(b.opts.Nodes, 1) }

func (b *Backend) event(e trace.Event) {
	if b.opts.Events == nil {
		return
	}
	b.evMu.Lock()
	defer b.evMu.Unlock()
	b.opts.Events(e)
}

func endpointOf(p *pod.Pod) balancer.Endpoint {
	ready, _, serving, terminating, exited := p.State()
	return balancer.Endpoint{ID: p.Name(), Addr: p.Addr(), Ready: ready && !terminating, Serving: serving, Terminating: terminating, Removed: exited}
}

// Start implements backend.Backend.
func (b *Backend) Start(_ context.Context, rev int) (string, error) {
	port, err := freeport.Port()
	if err != nil {
		return "", err
	}
	admin, err := freeport.Port()
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.next++
	name := fmt.Sprintf("r%d-%d", rev, b.next)
	b.mu.Unlock()
	var env []string
	if b.opts.Env != nil {
		env = b.opts.Env(port, admin)
	}
	p, err := pod.Start(pod.Spec{
		Name: name, Revision: rev, Argv: b.opts.Command, Env: env, Port: port, AdminPort: admin,
		Probe: b.opts.Probe, MinReady: b.opts.MinReady, Grace: b.opts.Grace,
		PreStopSleep: b.opts.PreStopSleep, PreStopCommand: b.opts.PreStopCommand, StopSignal: b.opts.StopSignal,
		Epoch:    b.opts.Epoch,
		OnChange: func(p *pod.Pod) { b.bal.Update(endpointOf(p)) },
		OnEvent:  func(e pod.Event) { b.event(trace.Event{At: e.At, Replica: e.Replica, Kind: e.Kind, Detail: e.Detail}) },
	})
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.pods = append(b.pods, p)
	b.mu.Unlock()
	return name, nil
}

func (b *Backend) find(name string) *pod.Pod {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.pods {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

func (b *Backend) all() []*pod.Pod {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.pods)
}

// Delete implements backend.Backend.
func (b *Backend) Delete(name string) error {
	p := b.find(name)
	if p == nil {
		return fmt.Errorf("local: no replica %q", name)
	}
	p.Terminate()
	return nil
}

// Exited implements backend.Backend.
func (b *Backend) Exited(name string) <-chan struct{} {
	if p := b.find(name); p != nil {
		return p.Done()
	}
	return nil
}

// Replicas implements backend.Backend.
func (b *Backend) Replicas() []backend.State {
	var out []backend.State
	for _, p := range b.all() {
		ready, available, _, terminating, exited := p.State()
		s := backend.State{Name: p.Name(), Revision: p.Revision(), Ready: ready, Available: available, Terminating: terminating, Exited: exited, Output: p.Output()}
		if exited {
			lc := p.Lifecycle()
			s.Unexpected = lc.Unexpected
			s.ExitText = exitText(lc)
		}
		out = append(out, s)
	}
	return out
}

func exitText(lc pod.Lifecycle) string {
	if lc.ExitSignal != "" {
		return "killed by " + lc.ExitSignal
	}
	return "exit code " + strconv.Itoa(lc.ExitCode)
}

// Endpoints implements backend.Backend.
func (b *Backend) Endpoints(node int) []backend.Endpoint {
	var out []backend.Endpoint
	for _, ep := range b.bal.View(node) {
		out = append(out, backend.Endpoint{Replica: ep.ID, Addr: ep.Addr, Ready: ep.Ready, Serving: ep.Serving, Terminating: ep.Terminating})
	}
	return out
}

// Publish makes every replica's current state known to the balancer
// (each node after its lag).
func (b *Backend) Publish() {
	for _, p := range b.all() {
		b.bal.Update(endpointOf(p))
	}
}

// Record implements backend.Backend.
func (b *Backend) Record(tr *trace.Trace) {
	epoch := b.opts.Epoch
	since := func(t time.Time) time.Duration {
		if t.IsZero() {
			return 0
		}
		return t.Sub(epoch)
	}
	for _, p := range b.all() {
		r := p.Lifecycle()
		r.ProbeKind = b.opts.Probe.Kind
		tr.Replicas = append(tr.Replicas, r)
	}
	for _, c := range b.bal.Conns() {
		tr.Conns = append(tr.Conns, trace.Conn{
			ID: c.ID, Client: c.Client, Node: c.Node, Replica: c.Backend, Outcome: c.Outcome,
			Accepted: since(c.Accepted), Ended: since(c.Ended), BackendClose: c.BackendClose,
			BackendClosed: since(c.BackendClosed), ClientClose: c.ClientClose,
		})
	}
	for _, v := range b.bal.Events() {
		tr.Views = append(tr.Views, trace.View{
			Node: v.Node, Replica: v.Endpoint.ID, Addr: v.Endpoint.Addr, Ready: v.Endpoint.Ready, Serving: v.Endpoint.Serving,
			Terminating: v.Endpoint.Terminating, Removed: v.Endpoint.Removed, Changed: since(v.Changed), Applied: since(v.Applied),
		})
	}
}

// AnswersPhase reports whether a running replica answers lameduck's
// /phase on its admin port: the service is built on the library.
func (b *Backend) AnswersPhase() bool {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, p := range b.all() {
		if _, _, _, terminating, exited := p.State(); terminating || exited {
			continue
		}
		resp, err := client.Get("http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Lifecycle().AdminPort)) + "/phase")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	return false
}

// StopAll kills every replica still running (they are marked stopped at
// the end, not deleted) and waits for them.
func (b *Backend) StopAll() {
	var wg sync.WaitGroup
	for _, p := range b.all() {
		wg.Add(1)
		go func() { defer wg.Done(); p.Kill() }()
	}
	wg.Wait()
}

// Close implements backend.Backend.
func (b *Backend) Close() error {
	b.StopAll()
	var err error
	b.close.Do(func() { err = b.bal.Close() })
	return err
}

// DetectReadiness starts one replica outside the Service, waits until it
// accepts connections on PORT (bounded by timeout), and asks its
// ADMIN_PORT for /readyz and /phase. It returns the probe to use: the
// lameduck admin /readyz when it answers, else a TCP probe on PORT; and
// whether the service is a lameduck service. The replica is killed.
func DetectReadiness(ctx context.Context, argv []string, env func(port, admin int) []string, epoch time.Time, timeout time.Duration) (probe pod.Probe, lameduck bool, note string, err error) {
	port, err := freeport.Port()
	if err != nil {
		return probe, false, "", err
	}
	admin, err := freeport.Port()
	if err != nil {
		return probe, false, "", err
	}
	p, err := pod.Start(pod.Spec{
		Name: "detect", Argv: argv, Env: env(port, admin), Port: port, AdminPort: admin, Epoch: epoch,
		Probe: pod.Probe{Kind: "tcp", Period: 50 * time.Millisecond, Timeout: time.Second, SuccessThreshold: 1, FailureThreshold: 3},
		Grace: 2 * time.Second,
	})
	if err != nil {
		return probe, false, "", err
	}
	defer p.Kill()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ready, _, _, _, exited := p.State()
		if ready {
			break
		}
		if exited {
			lc := p.Lifecycle()
			return probe, false, "", fmt.Errorf("the command exited at start-up (%s) before it listened on PORT; its output ends with:\n%s", exitText(lc), lc.Output)
		}
		select {
		case <-ctx.Done():
			return probe, false, "", ctx.Err()
		case <-deadline.C:
			return probe, false, "", fmt.Errorf("the command did not listen on PORT (%d) within %v; its output ends with:\n%s", port, timeout, p.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	base := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(admin))
	answers := func(path string) bool {
		// The admin server may start a moment after the service port.
		for range 10 {
			resp, err := client.Get(base + path)
			if err == nil {
				resp.Body.Close()
				return resp.StatusCode < 500 || path == "/readyz"
			}
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}
	if answers("/readyz") {
		lameduck = answers("/phase")
		return pod.Probe{Kind: "http", Admin: true, Path: "/readyz"}, lameduck, "readiness admin:/readyz (found on ADMIN_PORT)", nil
	}
	return pod.Probe{Kind: "tcp"}, false, "readiness tcp on PORT (no admin /readyz on ADMIN_PORT; give --readiness /path for an HTTP probe)", nil
}
