package promlameduck

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Final says how the final metric values are made visible in Flushing.
type Final string

// The final-values modes.
const (
	// FinalScrape waits, within the Flushing budget, for one more scrape of
	// /metrics that started after Flushing began. It waits only if /metrics
	// has been scraped at least once before: nobody scrapes a process that
	// was never scraped.
	FinalScrape Final = "scrape"
	// FinalPush pushes the final values to a Prometheus Pushgateway.
	FinalPush Final = "push"
	// FinalNone does nothing: values changed since the last scrape are lost.
	FinalNone Final = "none"
)

// Environment variables read by New; each overrides its Options field.
const (
	// EnvFinal selects the final-values mode: scrape, push or none.
	EnvFinal = "LAMEDUCK_METRICS_FINAL"
	// EnvPushURL is the Pushgateway's base URL, e.g. http://pushgateway:9091.
	EnvPushURL = "LAMEDUCK_PUSHGATEWAY_URL"
	// EnvPushJob is the job label of pushed metrics.
	EnvPushJob = "LAMEDUCK_PUSHGATEWAY_JOB"
)

// DefaultPath is where New mounts the metrics on the admin server.
const DefaultPath = "/metrics"

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("promlameduck: invalid configuration")

// Options configure New. The zero value is ready to use: a new registry
// with the Go and process collectors, /metrics on the admin server, and
// FinalScrape (FinalPush if a Pushgateway URL is set).
type Options struct {
	// Registerer receives the App's metrics and the HTTP metrics. Nil means
	// a new registry with the Go and process collectors. Pass your own
	// registry (or prometheus.DefaultRegisterer) if you already have one.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves and what is pushed. Nil means the
	// Registerer when it is also a Gatherer (a *prometheus.Registry, or
	// prometheus.DefaultGatherer for prometheus.DefaultRegisterer).
	Gatherer prometheus.Gatherer

	// Path is where the metrics are mounted on the admin server with
	// App.HandleAdmin. Default DefaultPath. Set NoAdmin to mount
	// Metrics.Handler yourself.
	Path string
	// NoAdmin leaves the admin server alone. If you serve your own /metrics
	// handler, wrap it with Metrics.WatchScrapes so FinalScrape can see it.
	NoAdmin bool

	// Final is the final-values mode ($LAMEDUCK_METRICS_FINAL). Default:
	// FinalPush if PushURL is set, else FinalScrape.
	Final Final
	// PushURL is the Pushgateway URL ($LAMEDUCK_PUSHGATEWAY_URL); required
	// by FinalPush.
	PushURL string
	// PushJob is the job label of pushed metrics ($LAMEDUCK_PUSHGATEWAY_JOB).
	// Default: the program's name.
	PushJob string
	// PushGrouping adds grouping labels to the push. Default: instance set
	// to the host name (the pod's name in Kubernetes), so replicas do not
	// overwrite each other.
	PushGrouping map[string]string

	// Buckets are the duration histogram's buckets in seconds. Default:
	// prometheus.DefBuckets.
	Buckets []float64

	// Logger receives the final-values hook's records. Default
	// slog.Default(); pass the App's Options.Logger.
	Logger *slog.Logger

	// LookupEnv reads the environment. Default os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// resolve applies the environment and the defaults, and validates.
func (o Options) resolve() (Options, error) {
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v, ok := lookup(EnvFinal); ok && strings.TrimSpace(v) != "" {
		o.Final = Final(strings.ToLower(strings.TrimSpace(v)))
	}
	if v, ok := lookup(EnvPushURL); ok && strings.TrimSpace(v) != "" {
		o.PushURL = strings.TrimSpace(v)
	}
	if v, ok := lookup(EnvPushJob); ok && strings.TrimSpace(v) != "" {
		o.PushJob = strings.TrimSpace(v)
	}
	if o.Final == "" {
		o.Final = FinalScrape
		if o.PushURL != "" {
			o.Final = FinalPush
		}
	}
	switch o.Final {
	case FinalScrape, FinalNone:
	case FinalPush:
		if o.PushURL == "" {
			return o, fmt.Errorf("%w: %s=push needs a Pushgateway URL in %s (e.g. http://pushgateway:9091)", ErrConfig, EnvFinal, EnvPushURL)
		}
	default:
		return o, fmt.Errorf("%w: %s=%q: want scrape, push or none", ErrConfig, EnvFinal, o.Final)
	}
	if o.PushJob == "" {
		o.PushJob = filepath.Base(os.Args[0])
	}
	if o.PushGrouping == nil {
		host, _ := os.Hostname()
		o.PushGrouping = map[string]string{"instance": host}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.Buckets == nil {
		o.Buckets = prometheus.DefBuckets
	}
	if o.Registerer == nil && o.Gatherer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		o.Registerer, o.Gatherer = reg, reg
	}
	if o.Registerer == nil {
		return o, fmt.Errorf("%w: Gatherer set without a Registerer", ErrConfig)
	}
	if o.Gatherer == nil {
		switch g := o.Registerer.(type) {
		case prometheus.Gatherer:
			o.Gatherer = g
		default:
			if o.Registerer == prometheus.DefaultRegisterer {
				o.Gatherer = prometheus.DefaultGatherer
			} else {
				return o, fmt.Errorf("%w: the Registerer is not a Gatherer: set Options.Gatherer", ErrConfig)
			}
		}
	}
	return o, nil
}
