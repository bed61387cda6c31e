package kube

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// Connect builds a clientset from a kubeconfig file (empty: $KUBECONFIG or
// ~/.kube/config, as kubectl does).
func Connect(kubeconfig string) (kubernetes.Interface, error) {
	_, cs, err := ConnectConfig(kubeconfig)
	return cs, err
}

// ConnectConfig is Connect that also returns the REST config (Cluster.Config,
// for exec).
func ConnectConfig(kubeconfig string) (*rest.Config, kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	return cfg, cs, err
}

// Cluster is the drill's view of one workload on a real cluster.
type Cluster struct {
	CS     kubernetes.Interface
	Target Target
	// Config is the REST config CS was built from; exec (the chaos
	// agent) needs it. Nil: no exec.
	Config *rest.Config
}

// PodTemplate returns the workload's pod template and its pod selector.
func (c *Cluster) PodTemplate(ctx context.Context) (corev1.PodTemplateSpec, labels.Selector, error) {
	var tpl corev1.PodTemplateSpec
	var sel *metav1.LabelSelector
	switch c.Target.Kind {
	case Deployment:
		d, err := c.CS.AppsV1().Deployments(c.Target.Namespace).Get(ctx, c.Target.Name, metav1.GetOptions{})
		if err != nil {
			return tpl, nil, err
		}
		tpl, sel = d.Spec.Template, d.Spec.Selector
	case StatefulSet:
		s, err := c.CS.AppsV1().StatefulSets(c.Target.Namespace).Get(ctx, c.Target.Name, metav1.GetOptions{})
		if err != nil {
			return tpl, nil, err
		}
		tpl, sel = s.Spec.Template, s.Spec.Selector
	}
	ls, err := metav1.LabelSelectorAsSelector(sel)
	return tpl, ls, err
}

// Trigger applies the rollout patch.
func (c *Cluster) Trigger(ctx context.Context, p Patch) error {
	var err error
	switch c.Target.Kind {
	case Deployment:
		_, err = c.CS.AppsV1().Deployments(c.Target.Namespace).Patch(ctx, c.Target.Name, p.Type, p.Data, metav1.PatchOptions{FieldManager: "lameduck-drill"})
	case StatefulSet:
		_, err = c.CS.AppsV1().StatefulSets(c.Target.Namespace).Patch(ctx, c.Target.Name, p.Type, p.Data, metav1.PatchOptions{FieldManager: "lameduck-drill"})
	}
	return err
}

// Progress reads the workload, its ReplicaSets and pods once and judges the
// rollout (DeploymentDone or StatefulSetDone).
func (c *Cluster) Progress(ctx context.Context, sel labels.Selector) (Progress, error) {
	ns := c.Target.Namespace
	pods, err := c.CS.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return Progress{}, err
	}
	switch c.Target.Kind {
	case StatefulSet:
		s, err := c.CS.AppsV1().StatefulSets(ns).Get(ctx, c.Target.Name, metav1.GetOptions{})
		if err != nil {
			return Progress{}, err
		}
		return StatefulSetDone(s, pods.Items), nil
	default:
		d, err := c.CS.AppsV1().Deployments(ns).Get(ctx, c.Target.Name, metav1.GetOptions{})
		if err != nil {
			return Progress{}, err
		}
		rss, err := c.CS.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return Progress{}, err
		}
		return DeploymentDone(d, NewReplicaSet(d, rss.Items), pods.Items), nil
	}
}

// WaitDone polls Progress every interval until the rollout is done (then
// waits settle), failed, or ctx ends.
func (c *Cluster) WaitDone(ctx context.Context, sel labels.Selector, interval, settle time.Duration) (Progress, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p, err := c.Progress(ctx, sel)
		if err != nil {
			return p, err
		}
		if p.Failed {
			return p, fmt.Errorf("rollout failed: %s", p.Reason)
		}
		if p.Done {
			select {
			case <-time.After(settle):
			case <-ctx.Done():
			}
			return p, ctx.Err()
		}
		select {
		case <-ctx.Done():
			return p, fmt.Errorf("rollout not done: %s: %w", p.Reason, ctx.Err())
		case <-t.C:
		}
	}
}

// Watch streams the events of the workload's pods (selector sel), of the
// Service's EndpointSlices and of the namespace's pod events to emit, until
// ctx ends. Each watch starts at resourceVersion "0" (from the API server's
// cache, with the current objects first as ADDED: their "created"/"added"
// events may be discarded): an unset resourceVersion asks for a consistent
// start, which API servers 1.34 on etcd 3.4 (no progress notifications) answer
// with "Too large resource version" on a quiet resource.
func (c *Cluster) Watch(ctx context.Context, sel labels.Selector, service string, emit func(Event)) error {
	ns := c.Target.Namespace
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				errs <- err
			}
		}()
	}
	run(func() error {
		w, err := c.CS.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: sel.String(), ResourceVersion: "0"})
		if err != nil {
			return err
		}
		last := map[string]*corev1.Pod{}
		return drain(ctx, w, func(t watch.EventType, o any) {
			p, ok := o.(*corev1.Pod)
			if !ok {
				return
			}
			cur := p
			if t == watch.Deleted {
				cur = nil
			}
			for _, e := range PodEvents(time.Now(), last[p.Name], cur) {
				emit(e)
			}
			last[p.Name] = cur
		})
	})
	run(func() error {
		w, err := c.CS.DiscoveryV1().EndpointSlices(ns).Watch(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service, ResourceVersion: "0"})
		if err != nil {
			return err
		}
		last := map[string]*discoveryv1.EndpointSlice{}
		return drain(ctx, w, func(t watch.EventType, o any) {
			s, ok := o.(*discoveryv1.EndpointSlice)
			if !ok {
				return
			}
			cur := s
			if t == watch.Deleted {
				cur = nil
			}
			for _, e := range EndpointSliceEvents(time.Now(), last[s.Name], cur) {
				emit(e)
			}
			last[s.Name] = cur
		})
	})
	run(func() error {
		w, err := c.CS.CoreV1().Events(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod", ResourceVersion: "0"})
		if err != nil {
			return err
		}
		return drain(ctx, w, func(t watch.EventType, o any) {
			if ev, ok := o.(*corev1.Event); ok && t != watch.Deleted {
				if e, ok := EventFromCore(time.Now(), ev); ok {
					emit(e)
				}
			}
		})
	})
	wg.Wait()
	close(errs)
	return <-errs
}

// drain feeds a watch's events to f until ctx ends or the watch closes.
func drain(ctx context.Context, w watch.Interface, f func(watch.EventType, any)) error {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch closed by the server")
			}
			if ev.Type == watch.Error {
				return fmt.Errorf("watch error: %v", ev.Object)
			}
			f(ev.Type, ev.Object)
		}
	}
}

// RunLoad creates the load pod, waits for it to start, copies its log to w
// while it runs and deletes it at the end.
func (c *Cluster) RunLoad(ctx context.Context, s LoadSpec, w io.Writer) error {
	pods := c.CS.CoreV1().Pods(s.Namespace)
	p, err := pods.Create(ctx, LoadPod(s), metav1.CreateOptions{FieldManager: "lameduck-drill"})
	if err != nil {
		return fmt.Errorf("load pod: %w", err)
	}
	defer func() {
		_ = pods.Delete(context.WithoutCancel(ctx), p.Name, metav1.DeleteOptions{})
	}()
	for {
		cur, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.Status.Phase != corev1.PodPending {
			break
		}
		for _, cs := range cur.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImageNeverPull" || w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				return fmt.Errorf("load pod: %s: %s", w.Reason, w.Message)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	rc, err := pods.GetLogs(p.Name, &corev1.PodLogOptions{Follow: true}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("load pod log: %w", err)
	}
	defer rc.Close()
	_, err = io.Copy(w, bufio.NewReader(rc))
	return err
}

// Settings reads the workload's spec into s (WorkloadSettings) and reports
// whether its pods get the stop signal at deletion (no preStop hook).
func (c *Cluster) Settings(ctx context.Context, s *trace.Settings) (signalAtDeletion bool, err error) {
	switch c.Target.Kind {
	case StatefulSet:
		st, err := c.CS.AppsV1().StatefulSets(c.Target.Namespace).Get(ctx, c.Target.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s.MaxSurge, s.MaxUnavailable = "0", "1" // one pod at a time, deleted before its replacement
		s.Unavailable = 1
		return WorkloadSettings(s, st.Spec.Replicas, nil, st.Spec.Template), nil
	default:
		d, err := c.CS.AppsV1().Deployments(c.Target.Namespace).Get(ctx, c.Target.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s.MinReady = time.Duration(d.Spec.MinReadySeconds) * time.Second
		return WorkloadSettings(s, d.Spec.Replicas, d.Spec.Strategy.RollingUpdate, d.Spec.Template), nil
	}
}
