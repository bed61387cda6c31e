// Package hostdrill is lameduck restart-drill: it restarts or upgrades a
// service on one host repeatedly under constant load, the way systemd
// would, and counts failed requests and lost acknowledged writes, for
// three ways of restarting side by side:
//
//   - restart: stop the process (SIGTERM, wait for its exit), start a new
//     one that binds the port itself: what `systemctl restart` does to a
//     service without a .socket unit;
//   - activation: the drill holds the listening socket, as systemd does for
//     a .socket unit, and passes it to every new process (LISTEN_FDS);
//   - upgrade: SIGHUP, and the service replaces itself in place (package
//     upgrade): the new process inherits the socket, the old one drains.
//
// The drill plays systemd's part: it receives sd_notify messages on a
// NOTIFY_SOCKET (READY=1 marks a started process, MAINPID= the upgraded
// one) and reaps upgraded processes as a child subreaper. The service is
// hostdrill.Serve (lameduck restart-drill serve) unless another command is
// given; acknowledged writes are checked against an embedded Redis-protocol
// store (counter key "counter").
package hostdrill

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/lameduck-dev/lameduck/internal/freeport"
	"github.com/lameduck-dev/lameduck/internal/sdmanager"
	"github.com/redis/go-redis/v9"
)

// Mode is a way of restarting.
type Mode string

// The modes, in the order they are reported.
const (
	Restart    Mode = "restart"
	Activation Mode = "activation"
	Upgrade    Mode = "upgrade"
)

// Modes lists every mode.
var Modes = []Mode{Restart, Activation, Upgrade}

// Config configures one run.
type Config struct {
	// Command is the service (argv). It must serve POST /incr on the
	// socket named "http" (socket activation) or 127.0.0.1:$PORT, write
	// to the Redis at $REDIS_ADDR, send READY=1 to $NOTIFY_SOCKET, and
	// upgrade itself on SIGHUP (upgrade mode).
	Command []string
	// Env is added to the service's environment.
	Env []string
	// Rate is the load in requests per second; Workers caps requests in flight.
	Rate, Workers int
	// Restarts is the number of restarts (or upgrades); Interval the
	// time between the end of one and the start of the next.
	Restarts int
	Interval time.Duration
	// Timeout is the client's per-request timeout.
	Timeout time.Duration
	// Dir holds the services' logs.
	Dir string
}

// Result is what one mode did.
type Result struct {
	Mode     Mode
	Restarts int
	Load     LoadResult
	// Counted is the store's counter at the end; Lost the acknowledged
	// writes missing from it.
	Counted, Lost int64
	// Gaps are the times from the stop (or upgrade) signal to the next
	// process's READY=1 (restart, activation) or MAINPID= (upgrade).
	Gaps []time.Duration
	// ExitCodes of the replaced processes (0: drained cleanly).
	ExitCodes []int
}

// Clean reports whether nothing failed and nothing was lost.
func (r *Result) Clean() bool { return r.Load.FailedTotal() == 0 && r.Lost == 0 && r.Load.Skipped == 0 }

// Run runs one mode.
func Run(ctx context.Context, cfg Config, mode Mode) (*Result, error) {
	if len(cfg.Command) == 0 {
		return nil, errors.New("hostdrill: no service command")
	}
	if mode == Upgrade {
		if err := becomeSubreaper(); err != nil {
			return nil, fmt.Errorf("hostdrill: upgrade mode needs to adopt the upgraded processes (Linux): %w", err)
		}
	}
	mini := miniredis.NewMiniRedis()
	if err := mini.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("hostdrill: store: %w", err)
	}
	defer mini.Close()
	dir, err := os.MkdirTemp(cfg.Dir, "restart-drill-")
	if err != nil {
		return nil, err
	}
	notify, err := sdmanager.ListenNotify(dir)
	if err != nil {
		return nil, fmt.Errorf("hostdrill: notify socket: %w", err)
	}
	defer notify.Close()
	logf, err := os.Create(filepath.Join(dir, string(mode)+".log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()

	var held *os.File
	var addr string
	if mode == Activation {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		held, err = ln.(*net.TCPListener).File()
		addr = ln.Addr().String()
		ln.Close()
		if err != nil {
			return nil, err
		}
		defer held.Close()
	} else {
		port, err := freeport.Port()
		if err != nil {
			return nil, err
		}
		addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	_, port, _ := net.SplitHostPort(addr)
	env := append(append(os.Environ(), cfg.Env...), "PORT="+port, "REDIS_ADDR="+mini.Addr(), notify.Env())

	r := &Result{Mode: mode}
	msgs := 0 // notify messages seen
	// start starts a process and waits for its READY=1.
	start := func() (*exec.Cmd, <-chan int, error) {
		cmd := exec.Command(cfg.Command[0], cfg.Command[1:]...)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logf, logf
		if held != nil {
			sdmanager.Activate(cmd, []*os.File{held}, []string{"http"})
		}
		if err := cmd.Start(); err != nil {
			return nil, nil, err
		}
		exited := make(chan int, 1)
		go func() {
			cmd.Wait()
			exited <- cmd.ProcessState.ExitCode()
		}()
		pid := cmd.Process.Pid
		_, i, err := notify.Wait(msgs, 20*time.Second, func(m sdmanager.Message) bool { return m.PID == pid && m.Has("READY", "1") })
		if err != nil {
			cmd.Process.Kill()
			return nil, nil, fmt.Errorf("hostdrill: %s did not become ready (log: %s): %w", cfg.Command[0], logf.Name(), err)
		}
		msgs = i + 1
		return cmd, exited, nil
	}
	cmd, exited, err := start()
	if err != nil {
		return nil, err
	}
	mainPID := cmd.Process.Pid
	defer func() { // a failed run: nothing stays behind
		syscall.Kill(mainPID, syscall.SIGKILL)
	}()

	lctx, stopLoad := context.WithCancel(ctx)
	loadc := make(chan LoadResult, 1)
	go func() {
		loadc <- Load(lctx, "http://"+addr+"/incr", cfg.Rate, cfg.Workers, cfg.Timeout)
	}()
	defer stopLoad()
	sleep := func(d time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}
	for range cfg.Restarts {
		if err := sleep(cfg.Interval); err != nil {
			return nil, err
		}
		at := time.Now()
		switch mode {
		case Restart, Activation:
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case code := <-exited:
				r.ExitCodes = append(r.ExitCodes, code)
			case <-time.After(30 * time.Second):
				return nil, fmt.Errorf("hostdrill: pid %d did not exit 30s after SIGTERM", mainPID)
			}
			if cmd, exited, err = start(); err != nil {
				return nil, err
			}
			mainPID = cmd.Process.Pid
		case Upgrade:
			syscall.Kill(mainPID, syscall.SIGHUP)
			m, i, err := notify.Wait(msgs, 30*time.Second, func(m sdmanager.Message) bool { return m.PID == mainPID && m.Fields["MAINPID"] != "" })
			if err != nil {
				return nil, fmt.Errorf("hostdrill: no MAINPID= after SIGHUP to %d (log: %s): %w", mainPID, logf.Name(), err)
			}
			msgs = i + 1
			old := mainPID
			mainPID, _ = strconv.Atoi(m.Fields["MAINPID"])
			r.Gaps = append(r.Gaps, time.Since(at))
			code, err := reap(old, exited, 30*time.Second)
			if err != nil {
				return nil, err
			}
			exited = nil // the first process is reaped; later ones are adopted
			r.ExitCodes = append(r.ExitCodes, code)
			r.Restarts++
			continue
		}
		r.Gaps = append(r.Gaps, time.Since(at))
		r.Restarts++
	}
	if err := sleep(cfg.Interval); err != nil {
		return nil, err
	}
	stopLoad()
	r.Load = <-loadc
	syscall.Kill(mainPID, syscall.SIGTERM)
	if _, err := reap(mainPID, exited, 30*time.Second); err != nil {
		return nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: mini.Addr()})
	defer rdb.Close()
	n, err := rdb.Get(ctx, CounterKey).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("hostdrill: read the counter: %w", err)
	}
	r.Counted = n
	r.Lost = max(r.Load.OK-n, 0)
	return r, nil
}

// reap waits for pid to exit: through exited when it is the drill's own
// child, else with wait4 as its adoptive parent (subreaper).
func reap(pid int, exited <-chan int, limit time.Duration) (int, error) {
	if exited != nil {
		select {
		case code := <-exited:
			return code, nil
		case <-time.After(limit):
			return 0, fmt.Errorf("hostdrill: pid %d still running after %v", pid, limit)
		}
	}
	done := make(chan int, 1)
	go func() { done <- wait4(pid) }()
	select {
	case code := <-done:
		return code, nil
	case <-time.After(limit):
		syscall.Kill(pid, syscall.SIGKILL)
		return 0, fmt.Errorf("hostdrill: pid %d still running after %v", pid, limit)
	}
}
