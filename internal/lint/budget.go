package lint

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lameduck-dev/lameduck"
)

// Load balancer facts used to find a workload's deregistration delay.
const (
	// AWSDefaultDeregistrationDelay is the target groups' default
	// deregistration_delay.timeout_seconds.
	AWSDefaultDeregistrationDelay = 300 * time.Second
	// IngressNginxPropagation models how long ingress-nginx keeps sending
	// new requests to a removed endpoint with its defaults: the controller
	// syncs at most 0.3 times per second (--sync-rate-limit, one sync per
	// 3.3 s) and each nginx worker picks up the new backends within 1 s
	// (BACKENDS_SYNC_INTERVAL); rounded up to 5 s.
	IngressNginxPropagation = 5 * time.Second

	annALBTargetGroupAttrs = "alb.ingress.kubernetes.io/target-group-attributes"
	annNLBTargetGroupAttrs = "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"
	annAWSLBType           = "service.beta.kubernetes.io/aws-load-balancer-type"
	annIngressClass        = "kubernetes.io/ingress.class"
	annNginxServiceUp      = "nginx.ingress.kubernetes.io/service-upstream"
	deregAttr              = "deregistration_delay.timeout_seconds"
)

// Deregistration is how long a load balancer in front of the workload may
// keep sending it new requests after termination starts, as far as the
// manifests reveal it.
type Deregistration struct {
	Delay  time.Duration
	Source string // "ALB of Ingress web, deregistration_delay.timeout_seconds=30"
	File   string
	Line   int
	Column int
}

// Budget is a container's termination time budget. All times count from
// the start of termination (T0: the pod is deleted, the preStop hook
// starts and endpoints removal begins, at the same moment).
type Budget struct {
	Container string
	// Grace is terminationGracePeriodSeconds (Kubernetes' default 30 s
	// when unset): SIGKILL comes at T0+Grace.
	Grace    time.Duration
	GraceSet bool
	PreStop  PreStop
	// Behind: a Service in the input selects the pods.
	Behind bool
	// LB is the longest known deregistration delay (nil if unknown).
	LB *Deregistration
	// Lameduck: the container runs a lameduck service (LAMEDUCK_*
	// variables or a lameduck preStop hook); App, AppOptions and AppErr
	// are what the library computes from its environment.
	Lameduck   bool
	AppOptions lameduck.Options
	App        lameduck.Budget
	AppErr     error
	// Serving is how long after T0 the server keeps accepting new
	// requests: the preStop sleep plus lameduck's drain delay. Valid when
	// ServingKnown.
	Serving      time.Duration
	ServingKnown bool
	// Own is what the server does on its own between SIGTERM and closing
	// its listeners (nil: unknown, assumed to stop accepting at SIGTERM);
	// OwnErr is an invalid lameduck.dev/shutdown-delay annotation.
	Own    *OwnDelay
	OwnErr error
	// Served lists the Services that send the container client traffic
	// (not headless, not metrics-only).
	Served []*Service
	// AppEnd is when the application's planned shutdown ends (preStop +
	// drain + stop + flush + close), valid when Lameduck and AppErr == nil.
	AppEnd time.Duration
	// Notes explain unknowns and assumptions.
	Notes []string
}

// envLookup builds the lookup lameduck.OptionsFromEnv would see in the
// container: its env values (KUBERNETES_SERVICE_HOST is always set in a
// pod). Values from ConfigMaps, Secrets or the downward API are unknown
// and noted.
func envLookup(c *corev1.Container) (func(string) (string, bool), []string, bool) {
	env := map[string]string{lameduck.EnvKubernetes: "10.0.0.1"}
	var notes []string
	uses := false
	for _, e := range c.Env {
		if !strings.HasPrefix(e.Name, "LAMEDUCK_") {
			continue
		}
		uses = true
		if e.ValueFrom != nil {
			notes = append(notes, e.Name+" comes from a reference lint cannot read; assumed unset")
			continue
		}
		env[e.Name] = e.Value
	}
	if len(c.EnvFrom) > 0 {
		notes = append(notes, "envFrom is not read; LAMEDUCK_* variables set there are not seen")
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }, notes, uses
}

// computeBudget works out the budget of container i of w.
func computeBudget(w *Workload, i int) *Budget {
	c := &w.Spec.Containers[i]
	b := &Budget{Container: c.Name, Grace: 30 * time.Second}
	if g := w.Spec.TerminationGracePeriodSeconds; g != nil {
		b.Grace, b.GraceSet = seconds(*g), true
	}
	b.PreStop = analyzePreStop(c, w.containerPath(i))
	if !b.PreStop.Known {
		b.Notes = append(b.Notes, "preStop duration unknown: "+b.PreStop.Note)
	}
	b.Behind = len(w.Services) > 0
	b.LB = deregistration(w)

	lookup, notes, uses := envLookup(c)
	b.Notes = append(b.Notes, notes...)
	b.Lameduck = uses || b.PreStop.Drain || (len(c.Command) > 0 && isLameduck(c.Command[0]))
	if b.Lameduck {
		b.AppOptions, b.AppErr = lameduck.OptionsFromEnv(lameduck.Options{LookupEnv: lameduck.NoEnv}, lookup)
		if b.AppErr == nil {
			opts := b.AppOptions
			if b.PreStop.Drain {
				// Started by /drain at T0: the budget is GracePeriod − KillMargin.
				opts.PreStop = 0
			}
			b.App = opts.Budget()
			if b.PreStop.Drain {
				// /drain answers at Flushing: after the drain delay and at
				// most the stop budget, or at its timeout (default: the
				// grace period), whichever comes first.
				limit := b.App.DrainDelay + b.App.Stop
				if b.PreStop.Duration <= 0 {
					b.PreStop.Duration = b.AppOptions.GracePeriod
				}
				b.PreStop.Duration = min(b.PreStop.Duration, limit)
			}
		}
	}

	b.Served = w.servingServices(c)
	if od, ok, err := ownDelay(w, c); err != nil {
		b.OwnErr = err
	} else if ok {
		b.Own = &od
	}
	drain := time.Duration(0)
	if b.Lameduck && b.AppErr == nil {
		drain = b.App.DrainDelay
	}
	if b.Own != nil {
		drain += b.Own.Delay
	}
	switch {
	case b.PreStop.Drain, b.PreStop.Stops:
		b.Serving, b.ServingKnown = drain, true
	case b.PreStop.Known:
		b.Serving, b.ServingKnown = b.PreStop.Hold+drain, true
	case b.PreStop.Hold > 0:
		b.Serving = b.PreStop.Hold + drain // at least
	}
	if b.Lameduck && b.AppErr == nil {
		phases := b.App.DrainDelay + b.App.Stop + b.App.Flush + b.App.Close
		phases = min(phases, max(b.App.Total, 0))
		if b.PreStop.Drain {
			b.AppEnd = phases
		} else {
			b.AppEnd = b.PreStop.Duration + phases
		}
	}
	return b
}

// deregistration finds the longest deregistration delay of the load
// balancers in front of w that the manifests reveal.
func deregistration(w *Workload) *Deregistration {
	var best *Deregistration
	consider := func(d *Deregistration) {
		if d != nil && (best == nil || d.Delay > best.Delay) {
			best = d
		}
	}
	for _, s := range w.Services {
		consider(nlbDeregistration(s))
	}
	for _, ing := range w.Ingresses {
		consider(ingressDeregistration(ing, w))
	}
	return best
}

// targetGroupDelay reads deregistration_delay.timeout_seconds from an
// AWS target-group-attributes annotation value.
func targetGroupDelay(v string) (time.Duration, bool) {
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && strings.TrimSpace(k) == deregAttr {
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err == nil && n >= 0 {
				return seconds(int64(n)), true
			}
		}
	}
	return 0, false
}

func nlbDeregistration(s *Service) *Deregistration {
	if s.S.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return nil
	}
	lbType := s.S.Annotations[annAWSLBType]
	class := ""
	if s.S.Spec.LoadBalancerClass != nil {
		class = *s.S.Spec.LoadBalancerClass
	}
	if class != "service.k8s.aws/nlb" && lbType != "external" && lbType != "nlb-ip" && lbType != "nlb" {
		return nil
	}
	line, col := s.Pos("metadata.annotations")
	if d, ok := targetGroupDelay(s.S.Annotations[annNLBTargetGroupAttrs]); ok {
		line, col = s.Pos("metadata.annotations", annNLBTargetGroupAttrs)
		return &Deregistration{Delay: d, File: s.File, Line: line, Column: col,
			Source: fmt.Sprintf("NLB of Service %s, %s=%d", s.Name, deregAttr, int(d/time.Second))}
	}
	if line == s.Line {
		line, col = s.Pos("spec.type")
	}
	return &Deregistration{Delay: AWSDefaultDeregistrationDelay, File: s.File, Line: line, Column: col,
		Source: fmt.Sprintf("NLB of Service %s, AWS default", s.Name)}
}

func ingressClass(ing *Ingress) string {
	if c := ing.I.Spec.IngressClassName; c != nil {
		return *c
	}
	return ing.I.Annotations[annIngressClass]
}

func ingressDeregistration(ing *Ingress, w *Workload) *Deregistration {
	class := ingressClass(ing)
	switch {
	case class == "alb":
		// The AWS Load Balancer Controller reads the attribute from the
		// Ingress or, for its backends, from the Service.
		if d, ok := targetGroupDelay(ing.I.Annotations[annALBTargetGroupAttrs]); ok {
			line, col := ing.Pos("metadata.annotations", annALBTargetGroupAttrs)
			return &Deregistration{Delay: d, File: ing.File, Line: line, Column: col,
				Source: fmt.Sprintf("ALB of Ingress %s, %s=%d", ing.Name, deregAttr, int(d/time.Second))}
		}
		for _, s := range w.Services {
			if d, ok := targetGroupDelay(s.S.Annotations[annALBTargetGroupAttrs]); ok {
				line, col := s.Pos("metadata.annotations", annALBTargetGroupAttrs)
				return &Deregistration{Delay: d, File: s.File, Line: line, Column: col,
					Source: fmt.Sprintf("ALB of Ingress %s, %s=%d on Service %s", ing.Name, deregAttr, int(d/time.Second), s.Name)}
			}
		}
		line, col := ing.Pos("spec.ingressClassName")
		if ing.I.Spec.IngressClassName == nil {
			line, col = ing.Pos("metadata.annotations", annIngressClass)
		}
		return &Deregistration{Delay: AWSDefaultDeregistrationDelay, File: ing.File, Line: line, Column: col,
			Source: fmt.Sprintf("ALB of Ingress %s, AWS default", ing.Name)}
	case class == "nginx" && ing.I.Annotations[annNginxServiceUp] != "true":
		line, col := ing.Pos("spec.ingressClassName")
		if ing.I.Spec.IngressClassName == nil {
			line, col = ing.Pos("metadata.annotations", annIngressClass)
		}
		return &Deregistration{Delay: IngressNginxPropagation, File: ing.File, Line: line, Column: col,
			Source: fmt.Sprintf("ingress-nginx of Ingress %s, default endpoint sync", ing.Name)}
	}
	return nil
}

// Describe prints the budget as one line per fact.
func (b *Budget) Describe() []string {
	var out []string
	lb := "unknown (not revealed by the manifests)"
	if b.LB != nil {
		lb = fmt.Sprintf("%s (%s; %s:%d)", fmtDur(b.LB.Delay), b.LB.Source, b.LB.File, b.LB.Line)
	} else if !b.Behind {
		lb = "none (no Service selects the pods)"
	}
	out = append(out, "load balancer deregistration: "+lb)
	pre := b.PreStop.Describe()
	out = append(out, "preStop: "+pre)
	if b.Own != nil {
		out = append(out, "server's own delay after SIGTERM: "+fmtDur(b.Own.Delay)+" ("+b.Own.Source+")")
	}
	serving := "unknown"
	if b.ServingKnown {
		serving = fmtDur(b.Serving)
	} else if b.Serving > 0 {
		serving = "at least " + fmtDur(b.Serving)
	}
	out = append(out, "keeps accepting requests until: T0+"+serving)
	switch {
	case !b.Lameduck:
		out = append(out, "application shutdown: unknown (no LAMEDUCK_* settings)")
	case b.AppErr != nil:
		out = append(out, "application shutdown: invalid configuration: "+b.AppErr.Error())
	default:
		start := "at SIGTERM"
		if b.PreStop.Drain {
			start = "at T0 (preStop drain)"
		}
		out = append(out, fmt.Sprintf("application shutdown %s: drain %s + stop %s + flush %s + close %s, ends by T0+%s",
			start, fmtDur(b.App.DrainDelay), fmtDur(b.App.Stop), fmtDur(b.App.Flush), fmtDur(b.App.Close), fmtDur(b.AppEnd)))
	}
	grace := fmtDur(b.Grace)
	if !b.GraceSet {
		grace += " (default)"
	}
	out = append(out, "SIGKILL at: T0+"+grace+" (terminationGracePeriodSeconds)")
	for _, n := range b.Notes {
		out = append(out, "note: "+n)
	}
	return out
}
