package kube

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// LogTailLines is how many of a replica's last log lines the trace keeps
// (the report's "output ends with:").
const LogTailLines = 20

// logTails fetches the replicas' log tails into the Recorder: a pod's
// container log is read when the watch sees the container terminate (the
// kubelet deletes it with the pod, soon after), and the log of every pod
// still running when the drill ends is read then.
type logTails struct {
	c   *Cluster
	rec *Recorder
	ctx context.Context

	mu      sync.Mutex
	fetched map[string]bool
	wg      sync.WaitGroup
}

func newLogTails(ctx context.Context, c *Cluster, rec *Recorder) *logTails {
	return &logTails{c: c, rec: rec, ctx: ctx, fetched: map[string]bool{}}
}

// observe is the watch's callback: it starts the fetch of a pod's log
// when its container terminates.
func (l *logTails) observe(e Event) {
	if e.Kind == EventContainerExited {
		l.fetch(e.Pod, e.Container)
	}
}

// fetch reads a pod's log tail in the background, once per pod.
func (l *logTails) fetch(pod, container string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fetched[pod] {
		return
	}
	l.fetched[pod] = true
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		out, err := l.read(pod, container)
		if err != nil {
			l.rec.Event(time.Now(), "kube-log-unavailable", pod, err.Error())
			return
		}
		l.rec.SetOutput(pod, out)
	}()
}

func (l *logTails) read(pod, container string) (string, error) {
	ctx, cancel := context.WithTimeout(l.ctx, 10*time.Second)
	defer cancel()
	n, limit := int64(LogTailLines), int64(16<<10)
	rc, err := l.c.CS.CoreV1().Pods(l.c.Target.Namespace).GetLogs(pod, &corev1.PodLogOptions{
		Container: container, TailLines: &n, LimitBytes: &limit}).Stream(ctx)
	if err != nil {
		return "", fmt.Errorf("log of %s: %w", pod, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return "", fmt.Errorf("log of %s: %w", pod, err)
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// finish fetches the logs of the pods not fetched yet (still running) and
// waits for every fetch.
func (l *logTails) finish() {
	for _, p := range l.rec.Pods() {
		l.fetch(p, "") // the pod's only container ("" is the default one)
	}
	l.wg.Wait()
}
