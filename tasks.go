package lameduck

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"time"
)

// taskSet tracks background tasks started with App.Go.
type taskSet struct {
	mu     sync.Mutex
	next   uint64
	live   map[uint64]taskInfo
	done   int64  // tasks that returned
	closed bool   // set by the owner once Stopping has drained: Go refuses
	poke   func() // wakes the owner when the last task returns

	ctx    context.Context // cancelled when Stopping's budget runs out
	cancel context.CancelCauseFunc
}

type taskInfo struct {
	name  string
	start time.Time
}

func (s *taskSet) init() {
	s.live = make(map[uint64]taskInfo)
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
}

func (s *taskSet) count() (running, done int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.live)), s.done
}

// closeIfEmpty refuses new tasks if none is running and reports whether it did.
func (s *taskSet) closeIfEmpty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.live) == 0 {
		s.closed = true
	}
	return s.closed
}

func (s *taskSet) closeNow() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *taskSet) running(now time.Time) []running {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]running, 0, len(s.live))
	for _, t := range s.live {
		out = append(out, running{Kind: "task", Name: t.name, Age: now.Sub(t.start)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Age > out[j].Age })
	return out
}

// Go runs fn in a new goroutine as tracked background work: the pattern of a
// handler that answers 200 and finishes the job afterwards. Stopping waits
// for it, so acknowledged work is not lost when the process stops. Its
// context is not cancelled by the stop signal, only when Stopping runs out
// of budget (with cause ErrDeadline). A returned error is logged; a panic is
// recovered, logged with its stack and starts the shutdown as Fatal does.
//
// Go returns ErrStopped, without running fn, once Stopping has finished
// waiting; work started by a request still in flight is always accepted.
func (a *App) Go(name string, fn func(ctx context.Context) error) error {
	s := &a.tasks
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("%w: task %q", ErrStopped, name)
	}
	s.next++
	id := s.next
	s.live[id] = taskInfo{name: name, start: time.Now()}
	s.mu.Unlock()
	go func() {
		defer func() {
			s.mu.Lock()
			delete(s.live, id)
			s.done++
			empty := len(s.live) == 0
			s.mu.Unlock()
			if empty {
				s.poke()
			}
		}()
		if err := a.protect("task", name, func() error { return fn(s.ctx) }); err != nil {
			a.log.taskFailed(name, err)
		}
	}()
	return nil
}

// protect runs fn, turning a panic into a Fatal shutdown.
func (a *App) protect(kind, name string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			a.log.panicked(kind, name, v, debug.Stack())
			err = fmt.Errorf("lameduck: %s %q panicked: %v", kind, name, v)
			a.Fatal(err)
		}
	}()
	return fn()
}

// worker is a long-running component registered with App.Worker.
type worker struct {
	name string
	fn   func(context.Context) error
	done chan struct{}
}

func (a *App) startWorker(w *worker) {
	w.done = make(chan struct{})
	go func() {
		defer a.track.poke() // Stopping may be waiting for this worker
		defer close(w.done)
		err := a.protect("worker", w.name, func() error { return w.fn(a.workCtx) })
		if err != nil && a.workCtx.Err() == nil {
			a.Fatal(fmt.Errorf("lameduck: worker %q failed: %w", w.name, err))
		}
	}()
}
