// Command propagation measures, on the test cluster (scripts/kube/up.sh), how long kube-proxy
// (iptables mode) takes to stop routing to a pod: it deletes one Ready pod of a Deployment at a
// time and times, from the delete call, (1) the pod's endpoint in the Service's EndpointSlice
// turning ready=false or disappearing (client-go watch) and (2) the pod's DNAT rule
// (--to-destination IP:PORT) disappearing from `iptables-save -t nat` (polled every 10 ms).
// Between samples it waits for the Deployment to be whole again and routed by kube-proxy, then
// -idle more (0: the deletion follows the last sync closely, as in a rollout).
//
//	go run ./scripts/kube/propagation -n lameduck-e2e -deployment counter-naive -service counter-naive -samples 25
//
// Output: one line per sample, then min/p50/p90/max of each delay, in milliseconds.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/kube"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

func main() {
	ns := flag.String("n", "lameduck-e2e", "namespace")
	dep := flag.String("deployment", "counter-naive", "Deployment whose pods are deleted")
	svc := flag.String("service", "counter-naive", "Service selecting them")
	samples := flag.Int("samples", 25, "number of pod deletions")
	idle := flag.Duration("idle", 3*time.Second, "wait after the Deployment is whole again")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig (default $KUBECONFIG)")
	flag.Parse()
	if err := run(*kubeconfig, *ns, *dep, *svc, *samples, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "propagation:", err)
		os.Exit(1)
	}
}

// sliceWatch records when each address was last seen ready=false or removed.
type sliceWatch struct {
	mu       sync.Mutex
	notReady map[string]time.Time
}

func (s *sliceWatch) run(ctx context.Context, w watch.Interface) {
	defer w.Stop()
	last := map[string]*discoveryv1.EndpointSlice{}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				fmt.Fprintln(os.Stderr, "propagation: the EndpointSlice watch closed")
				return
			}
			es, ok := ev.Object.(*discoveryv1.EndpointSlice)
			if !ok {
				fmt.Fprintf(os.Stderr, "propagation: watch event %s %T %v\n", ev.Type, ev.Object, ev.Object)
				continue
			}
			cur := es
			if ev.Type == watch.Deleted {
				cur = nil
			}
			now := time.Now()
			if os.Getenv("PROPAGATION_DEBUG") != "" {
				fmt.Fprintf(os.Stderr, "watch %s %s %v\n", ev.Type, es.Name, kube.EndpointSliceEvents(now, last[es.Name], cur))
			}
			for _, e := range kube.EndpointSliceEvents(now, last[es.Name], cur) {
				if e.Kind == kube.EventEndpointNotReady || e.Kind == kube.EventEndpointRemoved {
					s.mu.Lock()
					if _, seen := s.notReady[e.IP]; !seen {
						s.notReady[e.IP] = now
					}
					s.mu.Unlock()
				}
			}
			last[es.Name] = cur
		}
	}
}

func (s *sliceWatch) at(ip string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.notReady[ip]
	return t, ok
}

func run(kubeconfig, ns, dep, svc string, samples int, idle time.Duration) error {
	cs, err := kube.Connect(kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := cs.DiscoveryV1().EndpointSlices(ns).Watch(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc, ResourceVersion: "0"})
	if err != nil {
		return err
	}
	sw := &sliceWatch{notReady: map[string]time.Time{}}
	go sw.run(ctx, w)
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, dep, metav1.GetOptions{})
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return err
	}
	port := d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort
	var sliceMs, ruleMs, sliceToRuleMs []float64
	for i := 1; i <= samples; i++ {
		// wait for the Deployment to be whole, then idle
		for {
			d, err := cs.AppsV1().Deployments(ns).Get(ctx, dep, metav1.GetOptions{})
			if err != nil {
				return err
			}
			pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
			if err != nil {
				return err
			}
			if d.Status.ReadyReplicas == *d.Spec.Replicas && len(pods.Items) == int(*d.Spec.Replicas) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return err
		}
		// every pod routed by kube-proxy (the newest one's rule may still be batched)
		for j := range pods.Items {
			dest := fmt.Sprintf("--to-destination %s:%d", pods.Items[j].Status.PodIP, port)
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if has, err := natHas(dest); err != nil || has || time.Now().After(deadline) {
					break
				}
			}
		}
		time.Sleep(idle)
		var victim *corev1.Pod
		for j := range pods.Items {
			p := &pods.Items[j]
			if p.Status.PodIP != "" && p.DeletionTimestamp == nil {
				victim = p
				break
			}
		}
		if victim == nil {
			return fmt.Errorf("no running pod to delete")
		}
		dest := fmt.Sprintf("--to-destination %s:%d", victim.Status.PodIP, port)
		if has, err := natHas(dest); err != nil || !has {
			return fmt.Errorf("sample %d: no DNAT rule %q before deletion (err %v)", i, dest, err)
		}
		t0 := time.Now()
		if err := cs.CoreV1().Pods(ns).Delete(ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		var gone time.Time
		for deadline := t0.Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			has, err := natHas(dest)
			if err != nil {
				return err
			}
			if !has {
				gone = time.Now()
				break
			}
		}
		if gone.IsZero() {
			return fmt.Errorf("sample %d: DNAT rule for %s still there after 30s", i, victim.Status.PodIP)
		}
		var ts time.Time
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if t, ok := sw.at(victim.Status.PodIP); ok {
				ts = t
				break
			}
		}
		if ts.IsZero() {
			return fmt.Errorf("sample %d: the EndpointSlice never showed %s not ready", i, victim.Status.PodIP)
		}
		s, r := ms(ts.Sub(t0)), ms(gone.Sub(t0))
		sliceMs, ruleMs, sliceToRuleMs = append(sliceMs, s), append(ruleMs, r), append(sliceToRuleMs, r-s)
		fmt.Printf("sample %2d pod %s ip %s: slice not-ready %.0f ms, DNAT gone %.0f ms (slice -> rule %.0f ms)\n",
			i, victim.Name, victim.Status.PodIP, s, r, r-s)
	}
	fmt.Printf("n=%d (min / p50 / p90 / max, ms)\n", len(ruleMs))
	fmt.Printf("delete -> EndpointSlice not ready: %s\n", dist(sliceMs))
	fmt.Printf("delete -> DNAT rule gone:          %s\n", dist(ruleMs))
	fmt.Printf("EndpointSlice -> DNAT rule gone:   %s\n", dist(sliceToRuleMs))
	return nil
}

func natHas(dest string) (bool, error) {
	out, err := exec.Command("iptables-save", "-t", "nat").Output()
	if err != nil {
		return false, fmt.Errorf("iptables-save: %w", err)
	}
	return bytes.Contains(out, []byte(dest+"\n")), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func dist(v []float64) string {
	s := slices.Clone(v)
	slices.Sort(s)
	q := func(p float64) float64 { return s[int(p*float64(len(s)-1)+0.5)] }
	return fmt.Sprintf("%.0f / %.0f / %.0f / %.0f", s[0], q(0.5), q(0.9), s[len(s)-1])
}
