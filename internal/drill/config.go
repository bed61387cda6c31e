package drill

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/backend"
	"github.com/lameduck-dev/lameduck/internal/drill/ledger"
	"github.com/lameduck-dev/lameduck/internal/drill/pod"
	"github.com/lameduck-dev/lameduck/internal/drill/rollout"
)

// Profile is a family of propagation lags: how long an endpoint change
// takes to reach one consumer (a kube-proxy, an ingress controller, a cloud
// load balancer). Each consumer (node) draws its own lag, uniformly in
// [Min, Max], for every change.
type Profile struct {
	Name     string
	Min, Max time.Duration
}

func (p Profile) String() string {
	if p.Min == p.Max {
		return fmt.Sprintf("%s (%v lag)", p.Name, p.Min)
	}
	return fmt.Sprintf("%s (%v–%v lag)", p.Name, p.Min, p.Max)
}

// Profiles are the built-in propagation profiles.
var Profiles = []Profile{
	{Name: "local", Min: 50 * time.Millisecond, Max: 1200 * time.Millisecond}, // measured on a single-node cluster: docs/fidelity.md
	{Name: "kube-proxy", Min: 500 * time.Millisecond, Max: 2 * time.Second},
	{Name: "ingress", Min: 1 * time.Second, Max: 5 * time.Second},
	{Name: "cloud-lb", Min: 5 * time.Second, Max: 30 * time.Second},
}

// DefaultProfile is the profile used when none is named.
const DefaultProfile = "kube-proxy"

// LookupProfile returns the built-in profile called name.
func LookupProfile(name string) (Profile, error) {
	var names []string
	for _, p := range Profiles {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("unknown profile %q: choose one of %s", name, strings.Join(names, ", "))
}

// ParseLag parses a --propagation-lag value: "1s" (fixed) or "500ms-2s" (a
// range, drawn uniformly per node and change).
func ParseLag(s string) (Profile, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	min, err := time.ParseDuration(strings.TrimSpace(lo))
	if err != nil {
		return Profile{}, fmt.Errorf("invalid propagation lag %q: want a duration like 1s or a range like 500ms-2s", s)
	}
	max := min
	if isRange {
		if max, err = time.ParseDuration(strings.TrimSpace(hi)); err != nil {
			return Profile{}, fmt.Errorf("invalid propagation lag %q: want a duration like 1s or a range like 500ms-2s", s)
		}
	}
	if min < 0 || max < min {
		return Profile{}, fmt.Errorf("invalid propagation lag %q: want 0 <= min <= max", s)
	}
	return Profile{Name: "custom", Min: min, Max: max}, nil
}

// Defaults of a drill: Kubernetes' own where Kubernetes has one.
const (
	DefaultReplicas     = 3
	DefaultRollouts     = 1
	DefaultGrace        = 30 * time.Second // terminationGracePeriodSeconds
	DefaultProbePeriod  = 10 * time.Second // periodSeconds
	DefaultProbeTimeout = 1 * time.Second  // timeoutSeconds
	DefaultProbeSuccess = 1                // successThreshold
	DefaultProbeFailure = 3                // failureThreshold
	DefaultReadiness    = "auto"
	DefaultNodes        = 3
	DefaultRate         = 100
	DefaultWarmup       = 2 * time.Second
	DefaultTail         = 1 * time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultWorkers      = 512
	DefaultClients      = 8
	DefaultSettle       = 2 * time.Second
	DefaultStartTimeout = 60 * time.Second
	DefaultMethod       = http.MethodGet
	DefaultPath         = "/"
	DefaultSeed         = 1
)

// Load protocols (Config.Protocol).
const (
	ProtocolHTTP = "http" // HTTP/1.1 requests (vegeta)
	ProtocolGRPC = "grpc" // unary gRPC calls of the method Config.Path
)

// Config is one drill.
type Config struct {
	// Name labels the run in reports ("naive", "lameduck", or the command).
	Name string
	// Command is the replica's argv; each replica gets PORT, ADMIN_PORT,
	// LAMEDUCK_ADMIN_ADDR, REDIS_ADDR and Env on top of the drill's own
	// environment.
	Command []string
	Env     []string

	Replicas       int
	MaxSurge       rollout.IntOrPercent
	MaxUnavailable rollout.IntOrPercent
	Rollouts       int
	Readiness      pod.Probe
	MinReady       time.Duration

	Grace          time.Duration
	PreStopSleep   time.Duration
	PreStopCommand string
	StopSignal     syscall.Signal

	Profile Profile
	Nodes   int
	Seed    uint64

	// Protocol is ProtocolHTTP (default) or ProtocolGRPC. With gRPC, Path
	// is the full method name (default DefaultGRPCMethod), called with an
	// empty request message; Method, Body and Header are not used.
	Protocol string
	// GRPCRetry makes the gRPC load retry calls that fail with UNAVAILABLE
	// (up to 3 attempts), as docs/streams.md recommends to gRPC clients.
	// Off by default, so that the drill shows what a plain client sees.
	GRPCRetry bool
	Rate      int
	Duration  time.Duration // total load duration; 0 = until the rollouts are over + Tail
	Warmup    time.Duration // load before the first rollout
	Tail      time.Duration // load after the last old replica exited
	Method    string
	Path      string
	Body      []byte
	Header    http.Header
	Timeout   time.Duration // per request
	Workers   int           // max concurrent requests = max connections
	Clients   int           // independent keep-alive clients the requests are spread over

	RedisAddr string // "" = embedded store
	// Ledger is where the service commits request ids: "redis:KEY" (a
	// Redis hash, id -> commits) or an http(s) URL listing them; "" = no
	// ledger. See package ledger for the contract.
	Ledger string
	ledger ledger.Spec
	// ExpectCounter is a Redis key that must grow by the number of
	// acknowledged requests: the weak check (a net count), "" = none.
	ExpectCounter string
	// Settle is how long the ledger (and counter) must stay unchanged
	// after the load before they are compared; they are read for at
	// least that long, whatever they say.
	Settle time.Duration
	// Lameduck says the service is built on the lameduck library (the
	// demo): advice may name its settings. Detected when the admin
	// port answers /phase.
	Lameduck bool

	StartTimeout time.Duration

	// Chaos kills replicas with SIGKILL after the rollouts (--chaos);
	// Retry makes the load retry failed requests with their id as
	// Idempotency-Key (--retry). See chaos.go and retryload.go.
	Chaos ChaosSpec
	Retry bool
	// Backend, when set, makes the backend the drill runs against instead
	// of the local emulation (a real cluster, chaos wrapped around the
	// emulation). The drill's own settings (Command, Readiness, Grace,
	// PreStop…) are then the backend's business; "auto" readiness is not
	// resolved. A backend may implement Publish() (make the initial
	// replicas known to every balancer node at once), StopAll() (stop
	// what still runs before Record) and AnswersPhase() bool (the service
	// is built on lameduck).
	Backend func(BackendSpec) (backend.Backend, error)

	// Progress, when set, receives a live status line (use only on a terminal).
	Progress io.Writer
	// Width is the terminal's width in columns: the progress line is cut
	// to it (0: 80).
	Width int
	// Header lines shown at the top of the report (e.g. the demo's numbers).
	Notes []string
}

// ParseReadiness parses the --readiness value: "auto" (admin:/readyz
// when the service answers it, else tcp: decided on a trial replica
// before the drill), "tcp", "/path" (HTTP GET on PORT) or "admin:/path"
// (HTTP GET on ADMIN_PORT).
func ParseReadiness(s string) (pod.Probe, error) {
	p := pod.Probe{Kind: "http"}
	switch {
	case s == "auto":
		p.Kind = ""
	case s == "tcp":
		p.Kind = "tcp"
	case strings.HasPrefix(s, "admin:/"):
		p.Admin, p.Path = true, strings.TrimPrefix(s, "admin:")
	case strings.HasPrefix(s, "/"):
		p.Path = s
	default:
		return p, fmt.Errorf("invalid readiness probe %q: want tcp, /path (on PORT) or admin:/path (on ADMIN_PORT)", s)
	}
	return p, nil
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	if c.MaxSurge == "" {
		c.MaxSurge = rollout.DefaultMaxSurge
	}
	if c.MaxUnavailable == "" {
		c.MaxUnavailable = rollout.DefaultMaxUnavailable
	}
	if c.Rollouts == 0 {
		c.Rollouts = DefaultRollouts
	}
	if c.Readiness.Period == 0 {
		c.Readiness.Period = DefaultProbePeriod
	}
	if c.Readiness.Timeout == 0 {
		c.Readiness.Timeout = DefaultProbeTimeout
	}
	if c.Readiness.SuccessThreshold == 0 {
		c.Readiness.SuccessThreshold = DefaultProbeSuccess
	}
	if c.Readiness.FailureThreshold == 0 {
		c.Readiness.FailureThreshold = DefaultProbeFailure
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.StopSignal == 0 {
		c.StopSignal = syscall.SIGTERM
	}
	if c.Profile.Name == "" {
		c.Profile, _ = LookupProfile(DefaultProfile)
	}
	if c.Nodes == 0 {
		c.Nodes = DefaultNodes
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Protocol == "" {
		c.Protocol = ProtocolHTTP
	}
	if c.Method == "" {
		c.Method = DefaultMethod
	}
	if c.Path == "" {
		c.Path = DefaultPath
		if c.Protocol == ProtocolGRPC {
			c.Path = DefaultGRPCMethod
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.Name == "" && len(c.Command) > 0 {
		c.Name = strings.Join(c.Command, " ")
	}
	return c
}

func (c *Config) validate() error {
	var errs []error
	if len(c.Command) == 0 {
		errs = append(errs, errors.New("no command to drill"))
	}
	if c.Replicas < 1 {
		errs = append(errs, fmt.Errorf("replicas must be at least 1, not %d", c.Replicas))
	}
	if c.Rollouts < 1 {
		errs = append(errs, fmt.Errorf("rollouts must be at least 1, not %d", c.Rollouts))
	}
	if c.Rate < 1 {
		errs = append(errs, fmt.Errorf("rate must be at least 1 request/s, not %d", c.Rate))
	}
	if c.Grace < 0 || c.PreStopSleep < 0 || c.MinReady < 0 || c.Warmup < 0 || c.Tail < 0 || c.Duration < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if c.Readiness.Period <= 0 || c.Readiness.Timeout <= 0 || c.Readiness.SuccessThreshold < 1 || c.Readiness.FailureThreshold < 1 {
		errs = append(errs, errors.New("readiness probe: period and timeout must be > 0, thresholds >= 1"))
	}
	if c.Nodes < 1 {
		errs = append(errs, fmt.Errorf("nodes must be at least 1, not %d", c.Nodes))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers must be at least 1, not %d", c.Workers))
	}
	if _, _, err := rollout.Fenceposts(c.Replicas, c.MaxSurge, c.MaxUnavailable); err != nil {
		errs = append(errs, err)
	}
	if c.Ledger != "" {
		spec, err := ledger.Parse(c.Ledger)
		if err != nil {
			errs = append(errs, err)
		}
		c.ledger = spec
	}
	if c.Timeout <= 0 || c.Settle <= 0 || c.StartTimeout <= 0 {
		errs = append(errs, errors.New("timeout, settle and start timeout must be > 0"))
	}
	errs = append(errs, c.chaosErrors()...)
	switch c.Protocol {
	case ProtocolHTTP:
		if !strings.HasPrefix(c.Path, "/") {
			errs = append(errs, fmt.Errorf("path %q must start with /", c.Path))
		}
	case ProtocolGRPC:
		if svc, m, ok := strings.Cut(strings.TrimPrefix(c.Path, "/"), "/"); !strings.HasPrefix(c.Path, "/") || !ok || svc == "" || m == "" || strings.Contains(m, "/") {
			errs = append(errs, fmt.Errorf("gRPC method %q: want a full method name like %s", c.Path, DefaultGRPCMethod))
		}
	default:
		errs = append(errs, fmt.Errorf("protocol %q: want %s or %s", c.Protocol, ProtocolHTTP, ProtocolGRPC))
	}
	return errors.Join(errs...)
}

// BackendSpec is what the drill hands a Config.Backend.
type BackendSpec struct {
	// Epoch is time zero of the trace.
	Epoch time.Time
	// Env returns a replica's environment given its service and admin
	// ports (PORT, ADMIN_PORT, REDIS_ADDR, LEDGER_KEY, --env …).
	Env func(port, admin int) []string
	// Lag draws the propagation lag of one endpoint change on one node.
	Lag func(node int) time.Duration
	// Events receives the backend's events as they happen.
	Events backend.EventSink
}
