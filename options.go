package lameduck

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults for Options. Zero fields of Options take these values; the
// environment variables listed on Options override both.
const (
	// DefaultGracePeriod is Kubernetes' default terminationGracePeriodSeconds.
	DefaultGracePeriod = 30 * time.Second
	// DefaultKillMargin is kept free before SIGKILL is due.
	DefaultKillMargin = 2 * time.Second
	// DefaultDrainDelayKubernetes is the drain delay when running in
	// Kubernetes (KUBERNETES_SERVICE_HOST is set): long enough for kube-proxy
	// and most ingress controllers to remove the endpoint. Elsewhere the
	// default drain delay is zero.
	DefaultDrainDelayKubernetes = 5 * time.Second
	// DefaultFlushTimeout caps the Flushing phase (at most 1/6 of the budget).
	DefaultFlushTimeout = 2 * time.Second
	// DefaultCloseTimeout caps the Closing phase, all closers together (at
	// most 1/6 of the budget).
	DefaultCloseTimeout = 3 * time.Second
	// DefaultRetryAfter is the Retry-After sent with requests refused while stopping.
	DefaultRetryAfter = 1 * time.Second
	// DefaultDrainTokenHeader carries the token of the /drain endpoint.
	DefaultDrainTokenHeader = "X-Lameduck-Token"
)

// Environment variables read by OptionsFromEnv (and so by Run). Each
// overrides the corresponding Options field. Durations take Go syntax
// ("1m30s", "500ms") or plain seconds ("30"), like Kubernetes' fields.
const (
	EnvGracePeriod  = "LAMEDUCK_GRACE_PERIOD"
	EnvPreStop      = "LAMEDUCK_PRESTOP"
	EnvKillMargin   = "LAMEDUCK_KILL_MARGIN"
	EnvDrainDelay   = "LAMEDUCK_DRAIN_DELAY"
	EnvDrainQuiet   = "LAMEDUCK_DRAIN_QUIET"
	EnvDrainMin     = "LAMEDUCK_DRAIN_MIN"
	EnvStopTimeout  = "LAMEDUCK_STOP_TIMEOUT"
	EnvFlushTimeout = "LAMEDUCK_FLUSH_TIMEOUT"
	EnvCloseTimeout = "LAMEDUCK_CLOSE_TIMEOUT"
	EnvAdminAddr    = "LAMEDUCK_ADMIN_ADDR"
	EnvDrainToken   = "LAMEDUCK_DRAIN_TOKEN"
	// EnvGracePeriodFromAPI ("true" or "false") sets GracePeriodFromAPI.
	EnvGracePeriodFromAPI = "LAMEDUCK_GRACE_PERIOD_FROM_API"
	// EnvPodName names the pod for GracePeriodFromAPI (default: $HOSTNAME,
	// which Kubernetes sets to the pod name).
	EnvPodName = "LAMEDUCK_POD_NAME"
	// EnvTerminationLog overrides TerminationLog ("-": none).
	EnvTerminationLog = "LAMEDUCK_TERMINATION_LOG"
	// EnvKubernetes is set by Kubernetes in every container; its presence
	// selects DefaultDrainDelayKubernetes.
	EnvKubernetes = "KUBERNETES_SERVICE_HOST"
)

// Options configure an App. The zero value is ready to use: every zero field
// takes its default, and environment variables override fields at Run, so
// operators can tune a deployed binary without a rebuild.
//
// The shutdown budget is derived from the grace period the process will
// get before SIGKILL:
//
//	budget = GracePeriod − PreStop − KillMargin   (shutdown started by a signal)
//	budget = GracePeriod − KillMargin             (started by the /drain endpoint,
//	                                               that is by the preStop hook itself)
//
// and split across the phases: DrainDelay, then Stopping (StopTimeout or
// whatever is left), then FlushTimeout, then CloseTimeout. The rule to keep
// is the same everywhere lameduck speaks of it:
//
//	preStop + drain delay + stop + flush + close < terminationGracePeriodSeconds
type Options struct {
	// GracePeriod is the pod's terminationGracePeriodSeconds ($LAMEDUCK_GRACE_PERIOD).
	GracePeriod time.Duration
	// PreStop is the time a preStop hook spends before the stop signal is
	// sent, such as a "sleep 5" hook ($LAMEDUCK_PRESTOP). Kubernetes counts
	// the grace period from the start of preStop, so it is taken off the
	// budget when the shutdown starts with a signal.
	PreStop time.Duration
	// KillMargin is kept free before SIGKILL is due ($LAMEDUCK_KILL_MARGIN).
	KillMargin time.Duration
	// DrainDelay is how long Draining lasts ($LAMEDUCK_DRAIN_DELAY): the
	// time load balancers need to stop sending new connections. Zero means
	// the default: DefaultDrainDelayKubernetes in Kubernetes, none elsewhere.
	// Use NoDrainDelay for an explicit zero.
	DrainDelay time.Duration
	// DrainQuiet makes the drain delay adaptive ($LAMEDUCK_DRAIN_QUIET):
	// Draining ends early once no request has arrived for DrainQuiet, but
	// not before DrainMin and never after DrainDelay.
	DrainQuiet time.Duration
	// DrainMin is the shortest adaptive drain ($LAMEDUCK_DRAIN_MIN).
	DrainMin time.Duration
	// StopTimeout caps Stopping ($LAMEDUCK_STOP_TIMEOUT). Zero gives Stopping
	// whatever the budget leaves after the other phases.
	StopTimeout time.Duration
	// FlushTimeout caps Flushing ($LAMEDUCK_FLUSH_TIMEOUT).
	FlushTimeout time.Duration
	// CloseTimeout caps Closing ($LAMEDUCK_CLOSE_TIMEOUT).
	CloseTimeout time.Duration
	// AdminAddr overrides the address given to App.Admin ($LAMEDUCK_ADMIN_ADDR).
	AdminAddr string
	// DrainToken, when set, must be sent in the X-Lameduck-Token header to
	// the /drain endpoint ($LAMEDUCK_DRAIN_TOKEN). Without a token, /drain
	// only accepts requests from the loopback interface (a preStop exec
	// hook such as "lameduck prestop drain"): a kubelet httpGet hook comes
	// from the node, so it needs the token (sent with httpHeaders).
	DrainToken string

	// GracePeriodFromAPI makes the shutdown read the grace period the
	// kubelet really gives the pod — metadata.deletionGracePeriodSeconds,
	// shortened by evictions, node shutdown or "kubectl delete
	// --grace-period" — from the API server when it starts
	// ($LAMEDUCK_GRACE_PERIOD_FROM_API). It uses the pod's service-account
	// token and needs one RBAC rule: get pods in the pod's own namespace.
	// The request is bounded to 1s; on any failure GracePeriod is used.
	GracePeriodFromAPI bool
	// ServiceAccountDir holds the token, ca.crt and namespace files used by
	// GracePeriodFromAPI. Default: DefaultServiceAccountDir.
	ServiceAccountDir string
	// TerminationLog is the file the exit summary (at most 4 KiB) is
	// written to, if that file exists, so "kubectl describe pod" shows how
	// the last shutdown went ($LAMEDUCK_TERMINATION_LOG). Default:
	// DefaultTerminationLog; "-" writes none.
	TerminationLog string

	// Signals start the shutdown. Default: SIGTERM and SIGINT.
	Signals []os.Signal
	// Logger receives the phase log. Default: slog.Default().
	Logger *slog.Logger
	// LookupEnv reads the environment. Default: os.LookupEnv. Set it to
	// NoEnv to ignore the environment.
	LookupEnv func(string) (string, bool)
}

// NoDrainDelay is a DrainDelay that means "no drain delay" even in Kubernetes.
const NoDrainDelay time.Duration = -1

// NoEnv is a LookupEnv that finds nothing, for programs and tests that must
// not be configured from the environment.
func NoEnv(string) (string, bool) { return "", false }

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("lameduck: invalid configuration")

// OptionsFromEnv returns base with every field that has an environment
// variable overridden by lookup, then defaults filled in, then validated.
// Errors name the variable and the accepted form and wrap ErrConfig.
// A nil lookup means os.LookupEnv.
func OptionsFromEnv(base Options, lookup func(string) (string, bool)) (Options, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	o := base
	var errs []error
	dur := func(name string, dst *time.Duration) {
		v, ok := lookup(name)
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		d, err := parseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s=%q: %v (want a duration such as \"5s\", \"1m30s\" or plain seconds \"30\")", ErrConfig, name, v, err))
			return
		}
		if d < 0 {
			errs = append(errs, fmt.Errorf("%w: %s=%q: must not be negative", ErrConfig, name, v))
			return
		}
		if d == 0 && dst == &o.DrainDelay {
			d = NoDrainDelay
		}
		*dst = d
	}
	dur(EnvGracePeriod, &o.GracePeriod)
	dur(EnvPreStop, &o.PreStop)
	dur(EnvKillMargin, &o.KillMargin)
	dur(EnvDrainDelay, &o.DrainDelay)
	dur(EnvDrainQuiet, &o.DrainQuiet)
	dur(EnvDrainMin, &o.DrainMin)
	dur(EnvStopTimeout, &o.StopTimeout)
	dur(EnvFlushTimeout, &o.FlushTimeout)
	dur(EnvCloseTimeout, &o.CloseTimeout)
	if v, ok := lookup(EnvAdminAddr); ok && v != "" {
		o.AdminAddr = v
	}
	if v, ok := lookup(EnvDrainToken); ok && v != "" {
		o.DrainToken = v
	}
	if v, ok := lookup(EnvGracePeriodFromAPI); ok && strings.TrimSpace(v) != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s=%q: want true or false", ErrConfig, EnvGracePeriodFromAPI, v))
		}
		o.GracePeriodFromAPI = b
	}
	if v, ok := lookup(EnvTerminationLog); ok && v != "" {
		o.TerminationLog = v
	}
	if len(errs) > 0 {
		return base, errors.Join(errs...)
	}
	host, inKube := lookup(EnvKubernetes)
	o.fill(inKube && host != "")
	if err := o.validate(); err != nil {
		return base, err
	}
	return o, nil
}

// fill replaces zero fields with defaults.
func (o *Options) fill(inKube bool) {
	if o.GracePeriod == 0 {
		o.GracePeriod = DefaultGracePeriod
	}
	if o.KillMargin == 0 {
		o.KillMargin = DefaultKillMargin
	}
	switch {
	case o.DrainDelay == 0 && inKube:
		o.DrainDelay = DefaultDrainDelayKubernetes
	case o.DrainDelay == NoDrainDelay:
		o.DrainDelay = 0
	}
	// Unset flush and close caps take their defaults, but at most a sixth
	// of the budget each, so that a short grace period still leaves most of
	// its time to Stopping (5s grace: 500ms each instead of 2s and 3s).
	share := max((o.GracePeriod-o.PreStop-o.KillMargin)/6, 0)
	if o.FlushTimeout == 0 {
		o.FlushTimeout = min(DefaultFlushTimeout, share)
	}
	if o.CloseTimeout == 0 {
		o.CloseTimeout = min(DefaultCloseTimeout, share)
	}
	if len(o.Signals) == 0 {
		o.Signals = []os.Signal{syscall.SIGTERM, os.Interrupt}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// validate checks filled-in options.
func (o *Options) validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrConfig, name, fmt.Sprintf(format, args...)))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{EnvGracePeriod, o.GracePeriod}, {EnvPreStop, o.PreStop}, {EnvKillMargin, o.KillMargin},
		{EnvDrainDelay, o.DrainDelay}, {EnvDrainQuiet, o.DrainQuiet}, {EnvDrainMin, o.DrainMin},
		{EnvStopTimeout, o.StopTimeout}, {EnvFlushTimeout, o.FlushTimeout}, {EnvCloseTimeout, o.CloseTimeout},
	} {
		if f.d < 0 {
			bad(f.name, "%v must not be negative", f.d)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	b := o.Budget()
	if b.Total <= 0 {
		bad(EnvGracePeriod, "grace period %v leaves no shutdown budget after preStop %v and kill margin %v", o.GracePeriod, o.PreStop, o.KillMargin)
	} else if o.DrainDelay >= b.Total {
		bad(EnvDrainDelay, "drain delay %v does not fit the shutdown budget %v (grace period %v − preStop %v − kill margin %v)",
			o.DrainDelay, b.Total, o.GracePeriod, o.PreStop, o.KillMargin)
	}
	if o.DrainMin > 0 && o.DrainDelay > 0 && o.DrainMin > o.DrainDelay {
		bad(EnvDrainMin, "%v is longer than the drain delay %v", o.DrainMin, o.DrainDelay)
	}
	return errors.Join(errs...)
}

// Budget is how a shutdown's time is split across the phases.
type Budget struct {
	// Total is the time from the stop signal to the planned end of Closing:
	// GracePeriod − PreStop − KillMargin.
	Total time.Duration
	// DrainDelay is the (maximum) length of Draining.
	DrainDelay time.Duration
	// Stop is the time Stopping may take (in-flight requests and work).
	Stop time.Duration
	// Flush and Close are the caps of Flushing and Closing.
	Flush, Close time.Duration
	// Warnings say where the configured phases do not fit Total. They are
	// logged at start-up; the phases are then shortened from the end.
	Warnings []string
}

// Budget computes the split of a signal-started shutdown for filled-in
// options (see OptionsFromEnv). It is a pure function.
func (o Options) Budget() Budget {
	return o.budget(o.GracePeriod - o.PreStop - o.KillMargin)
}

func (o Options) budget(total time.Duration) Budget {
	b := Budget{Total: total, DrainDelay: o.DrainDelay, Flush: o.FlushTimeout, Close: o.CloseTimeout}
	rest := total - b.DrainDelay - b.Flush - b.Close
	switch {
	case o.StopTimeout > 0 && o.StopTimeout <= rest:
		b.Stop = o.StopTimeout
	case o.StopTimeout > 0:
		b.Stop = max(rest, 0)
		b.Warnings = append(b.Warnings, fmt.Sprintf(
			"stop timeout %v does not fit: budget %v = drain delay %v + stop + flush %v + close %v leaves %v for stopping",
			o.StopTimeout, total, b.DrainDelay, b.Flush, b.Close, max(rest, 0)))
	default:
		b.Stop = max(rest, 0)
	}
	if rest <= 0 {
		b.Warnings = append(b.Warnings, fmt.Sprintf(
			"drain delay %v + flush %v + close %v leave no time to stop in the budget %v (grace period %v − preStop %v − kill margin %v)",
			b.DrainDelay, b.Flush, b.Close, total, o.GracePeriod, o.PreStop, o.KillMargin))
	}
	return b
}

// maxDurationSeconds is the longest duration in seconds (about 292 years).
const maxDurationSeconds = int64(math.MaxInt64 / int64(time.Second))

// parseDuration accepts Go durations and plain (possibly fractional)
// seconds. It rejects what is not a finite number of seconds that a
// time.Duration can hold (NaN, Inf, 1e10), and a non-zero value shorter
// than a nanosecond (1e-12), which would otherwise round to 0 and silently
// mean "the default".
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("out of range (at most %d seconds)", maxDurationSeconds)
		}
		return time.ParseDuration(s)
	}
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, errors.New("not a finite number of seconds")
	case f < 0:
		return time.Duration(-1), nil // reported as negative by the caller
	case f > float64(maxDurationSeconds):
		return 0, fmt.Errorf("out of range (at most %d seconds)", maxDurationSeconds)
	case f > 0 && f*float64(time.Second) < 1:
		return 0, errors.New("shorter than a nanosecond (write 0 for none)")
	}
	return time.Duration(math.Round(f * float64(time.Second))), nil
}
