// Command rollout drives one rollout on a real cluster through internal/drill/kube (the pieces
// of `lameduck drill --kube`): it starts the in-cluster load pod, triggers the rollout as
// `kubectl rollout restart` does, watches pods, EndpointSlices and events, waits until the
// rollout is done with no terminating pod left, then prints the load's outcome and the
// timeline of what it observed. It exercises the client-go side on the test cluster:
//
//	go run ./scripts/kube/rollout -n lameduck-e2e -service counter-lameduck deployment/counter-lameduck
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/kube"
	"github.com/lameduck-dev/lameduck/internal/drill/kube/podload"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func main() {
	ns := flag.String("n", "", "namespace (required)")
	svcName := flag.String("service", "", "Service the load goes to")
	path := flag.String("path", "/incr", "request path")
	image := flag.String("image", "lameduck.local/lameduck:1", "image of the load pod (holds /lameduck)")
	rate := flag.Int("rate", 100, "requests per second")
	duration := flag.Duration("duration", 30*time.Second, "load duration")
	settle := flag.Duration("settle", 2*time.Second, "wait after done")
	dry := flag.Bool("dry-run", false, "print the patch and exit")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig (default $KUBECONFIG)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: rollout -n NS -service SVC deployment/NAME")
		os.Exit(2)
	}
	t, err := kube.ParseTarget(*ns, flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rollout:", err)
		os.Exit(2)
	}
	if *dry {
		fmt.Println(kube.RestartPatch(time.Now()).DryRun(t))
		return
	}
	if err := run(*kubeconfig, t, *svcName, *path, *image, *rate, *duration, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "rollout:", err)
		os.Exit(1)
	}
}

func run(kubeconfig string, t kube.Target, svcName, path, image string, rate int, duration, settle time.Duration) error {
	cs, err := kube.Connect(kubeconfig)
	if err != nil {
		return err
	}
	c := &kube.Cluster{CS: cs, Target: t}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, sel, err := c.PodTemplate(ctx)
	if err != nil {
		return err
	}
	svc, err := cs.CoreV1().Services(t.Namespace).Get(ctx, svcName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	url, err := kube.ServiceURL(svc, "", path)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var events []kube.Event
	watchDone := make(chan error, 1)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		watchDone <- c.Watch(wctx, sel, svcName, func(e kube.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		})
	}()
	var out bytes.Buffer
	loadDone := make(chan error, 1)
	runID := fmt.Sprintf("r%d", time.Now().Unix())
	go func() {
		loadDone <- c.RunLoad(ctx, kube.LoadSpec{Namespace: t.Namespace, Image: image, PullNever: true, URL: url,
			Rate: rate, Duration: duration, Timeout: 2 * time.Second, RunID: runID}, &out)
	}()
	time.Sleep(5 * time.Second) // the load pod starts, then runs a few seconds before the rollout
	t0 := time.Now()
	if err := c.Trigger(ctx, kube.RestartPatch(t0)); err != nil {
		return err
	}
	fmt.Printf("rollout of %s triggered at %s; load %s\n", t, t0.Format("15:04:05.000"), url)
	dctx, dcancel := context.WithTimeout(ctx, 5*time.Minute)
	_, err = c.WaitDone(dctx, sel, 250*time.Millisecond, settle)
	dcancel()
	if err != nil {
		return err
	}
	fmt.Printf("rollout done after %.1fs (no terminating pod left, then %s settle)\n", time.Since(t0).Seconds()-settle.Seconds(), settle)
	if err := <-loadDone; err != nil {
		return err
	}
	stopWatch()
	if err := <-watchDone; err != nil {
		fmt.Fprintln(os.Stderr, "rollout: watch:", err)
	}
	recs, sum, err := podload.Decode(&out)
	if err != nil {
		return err
	}
	if sum == nil {
		return fmt.Errorf("the load pod's output has no summary (%d records)", len(recs))
	}
	classes := map[string]int{}
	for _, r := range recs {
		if r.Class != "" {
			classes[r.Class]++
		}
	}
	fmt.Printf("load: sent %d, ok %d, failed %d %v\n", sum.Sent, sum.OK, sum.Failed, classes)
	mu.Lock()
	defer mu.Unlock()
	counts := map[string]int{}
	for _, e := range events {
		if e.At.After(t0) {
			counts[e.Kind]++
		}
	}
	var kinds []string
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Print("observed after the trigger:")
	for _, k := range kinds {
		fmt.Printf(" %s=%d", k, counts[k])
	}
	fmt.Println()
	for _, e := range events {
		if e.At.After(t0) && (e.Kind == kube.EventPodDeleting || e.Kind == kube.EventEndpointNotReady || e.Kind == kube.EventEndpointRemoved || e.Kind == kube.EventContainerExited || e.Kind == kube.EventKilling) {
			fmt.Printf("  +%6.3fs %-20s %s %s %s\n", e.At.Sub(t0).Seconds(), e.Kind, e.Pod, e.IP, e.Detail)
		}
	}
	return nil
}
