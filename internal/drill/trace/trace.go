// Package trace holds the facts one drill recorded: every replica's
// lifecycle, every connection the balancer carried, every change of a
// balancer node's view, every rollout step, every event and every request,
// all on one time base (durations since Trace.Epoch).
//
// A Trace is plain data with JSON tags: the runner writes it, backends fill
// their part (lifecycles, connections, views, events), and the analysis
// (package analysis) reads it and nothing else. Recorded traces in
// testdata/ are the analysis' test inputs.
package trace

import "time"

// SchemaVersion is the version of the Trace and Result JSON documents. It
// changes when a field changes meaning or disappears; new fields do not
// change it.
const SchemaVersion = 2

// Trace is everything one drill recorded.
type Trace struct {
	Schema int `json:"schema"`
	// Epoch is the wall-clock time of time zero: every duration in the
	// trace is measured from it.
	Epoch    time.Time `json:"epoch"`
	Name     string    `json:"name"`
	Settings Settings  `json:"settings"`
	// Backend names what ran the replicas ("local": processes on this
	// machine behind an emulated kube-proxy).
	Backend string `json:"backend"`

	Replicas     []Replica `json:"replicas"`
	Conns        []Conn    `json:"connections"`
	Views        []View    `json:"balancer_views"`
	Rollouts     []Rollout `json:"rollouts"`
	Steps        []Step    `json:"steps"`
	RolloutError string    `json:"rollout_error,omitempty"`
	Events       []Event   `json:"events"`
	Requests     []Request `json:"requests"`

	// LoadStart is when the load began; LoadStop when the drill stopped
	// sending (its own end-of-run teardown begins there: requests still
	// running then were cut by the drill, not by the service).
	LoadStart time.Duration `json:"load_start"`
	LoadStop  time.Duration `json:"load_stop"`
	// End is when the drill finished recording.
	End time.Duration `json:"end"`

	// Ledger is what the store committed, by request id; nil when no
	// ledger was read.
	Ledger *Ledger `json:"ledger,omitempty"`
	// Counter is the weak check (--expect-counter); nil when not asked.
	Counter *Counter `json:"counter,omitempty"`
	// Chaos is what --chaos killed; nil without --chaos.
	Chaos *Chaos `json:"chaos,omitempty"`
}

// Settings are the configuration of the run, as the analysis needs it.
type Settings struct {
	Command        []string      `json:"command"`
	Replicas       int           `json:"replicas"`
	MaxSurge       string        `json:"max_surge"`
	MaxUnavailable string        `json:"max_unavailable"`
	Surge          int           `json:"surge"`
	Unavailable    int           `json:"unavailable"`
	Rollouts       int           `json:"rollouts"`
	Readiness      string        `json:"readiness"`
	ReadinessNote  string        `json:"readiness_note,omitempty"` // how it was chosen, when automatic
	ProbePeriod    time.Duration `json:"probe_period"`
	MinReady       time.Duration `json:"min_ready"`
	Grace          time.Duration `json:"grace"`
	PreStop        string        `json:"prestop,omitempty"` // in words
	PreStopSleep   time.Duration `json:"prestop_sleep,omitempty"`
	StopSignal     string        `json:"stop_signal"`
	Profile        string        `json:"profile"`
	LagMin         time.Duration `json:"lag_min"`
	LagMax         time.Duration `json:"lag_max"`
	Nodes          int           `json:"nodes"`
	Seed           uint64        `json:"seed"`
	Protocol       string        `json:"protocol"`
	Method         string        `json:"method"`
	Path           string        `json:"path"`
	Rate           int           `json:"rate"`
	Timeout        time.Duration `json:"timeout"`
	Env            []string      `json:"env,omitempty"`
	Notes          []string      `json:"notes,omitempty"`
	// Lameduck is true when the replicas answered on lameduck's admin
	// port (/phase): advice may then name the library's settings.
	Lameduck bool `json:"lameduck"`
	// Retry: the load retried failed requests with the request id as
	// Idempotency-Key (--retry).
	Retry bool `json:"retry,omitempty"`
}

// Replica is one replica's lifecycle. Zero durations mean "did not happen".
type Replica struct {
	Name      string        `json:"name"`
	Revision  int           `json:"revision"`
	Port      int           `json:"port"`
	AdminPort int           `json:"admin_port,omitempty"`
	PID       int           `json:"pid,omitempty"`
	Started   time.Duration `json:"started"`
	Ready     time.Duration `json:"ready,omitempty"`
	Available time.Duration `json:"available,omitempty"`
	// Terminating is the deletion: endpoint removal and preStop start.
	Terminating time.Duration `json:"terminating,omitempty"`
	PreStopDone time.Duration `json:"prestop_done,omitempty"`
	SignalSent  time.Duration `json:"signal_sent,omitempty"`
	Signal      string        `json:"signal,omitempty"`
	Killed      time.Duration `json:"sigkill,omitempty"`
	Exited      time.Duration `json:"exited,omitempty"`
	ExitCode    int           `json:"exit_code"` // -1 when killed by a signal
	ExitSignal  string        `json:"exit_signal,omitempty"`
	// Unexpected: it exited before it was deleted.
	Unexpected bool `json:"unexpected_exit,omitempty"`
	// StoppedAtEnd: it still ran when the drill ended and the drill
	// stopped it (not part of the experiment).
	StoppedAtEnd bool `json:"stopped_at_end,omitempty"`
	// ProbeKind is the readiness probe: "http" or "tcp".
	ProbeKind  string  `json:"probe_kind,omitempty"`
	TermProbes []Probe `json:"terminating_probes,omitempty"`
	// Output is the tail of the replica's stdout and stderr: the
	// service's own account of its shutdown.
	Output string `json:"output_tail,omitempty"`
}

// Probe is one readiness probe made while the replica was terminating.
type Probe struct {
	At     time.Duration `json:"at"`
	Status int           `json:"status,omitempty"` // HTTP status, 0 when no answer
	Err    string        `json:"error,omitempty"`
}

// Connection outcomes (Conn.Outcome).
const (
	OutcomeForwarded  = "forwarded"   // dialed the replica; bytes flowed
	OutcomeRefused    = "refused"     // replica not listening: client reset
	OutcomeNoEndpoint = "no-endpoint" // the node's view was empty: client reset
	OutcomeDialError  = "dial-error"  // any other dial failure: client reset
)

// How a side of a connection ended (Conn.BackendClose, Conn.ClientClose).
const (
	CloseFIN   = "fin"
	CloseReset = "reset"
	CloseError = "error"
)

// Conn is one client connection through the balancer.
type Conn struct {
	ID       uint64        `json:"id"`
	Client   string        `json:"client"` // the client's local address
	Node     int           `json:"node"`
	Replica  string        `json:"replica,omitempty"`
	Outcome  string        `json:"outcome"`
	Accepted time.Duration `json:"accepted"`
	Ended    time.Duration `json:"ended,omitempty"`
	// BackendClose is how the replica's side ended, at BackendClosed.
	BackendClose  string        `json:"backend_close,omitempty"`
	BackendClosed time.Duration `json:"backend_closed,omitempty"`
	ClientClose   string        `json:"client_close,omitempty"`
}

// View is one endpoint change as one balancer node saw it.
type View struct {
	Node        int           `json:"node"`
	Replica     string        `json:"replica"`
	Addr        string        `json:"addr,omitempty"`
	Ready       bool          `json:"ready"`
	Serving     bool          `json:"serving"`
	Terminating bool          `json:"terminating"`
	Removed     bool          `json:"removed"`
	Changed     time.Duration `json:"changed"` // when the endpoint changed
	Applied     time.Duration `json:"applied"` // when this node saw it
}

// Rollout is one rolling update.
type Rollout struct {
	Index     int           `json:"index"`
	Started   time.Duration `json:"started"`
	Completed time.Duration `json:"completed,omitempty"`
}

// Step actions.
const (
	StepCreate = "create"
	StepDelete = "delete"
)

// Step is one action of the rollout controller.
type Step struct {
	At      time.Duration `json:"at"`
	Rollout int           `json:"rollout"`
	Index   int           `json:"step"`
	Action  string        `json:"action"` // StepCreate or StepDelete
	Replica string        `json:"replica"`
}

// Event kinds.
const (
	EventStarted         = "started"
	EventReady           = "ready"
	EventUnready         = "unready"
	EventAvailable       = "available"
	EventTerminating     = "terminating"
	EventPreStopDone     = "prestop-done"
	EventSignal          = "signal"
	EventSIGKILL         = "sigkill"
	EventExited          = "exited"
	EventProbe           = "probe"
	EventRolloutStart    = "rollout-start"
	EventRolloutCreate   = "rollout-create"
	EventRolloutDelete   = "rollout-delete"
	EventRolloutComplete = "rollout-complete"
	EventReplicaFailed   = "replica-failed"
	EventLoadStart       = "load-start"
	EventLoadStop        = "load-stop"
	EventChaos           = "chaos"
)

// Event is one entry of the timeline.
type Event struct {
	At      time.Duration `json:"at"`
	Replica string        `json:"replica,omitempty"`
	Kind    string        `json:"kind"`
	Detail  string        `json:"detail,omitempty"`
}

// Transport errors the load recognised from the typed error (Request.Transport).
const (
	TransportRefused = "refused" // ECONNREFUSED
	TransportReset   = "reset"   // ECONNRESET, EPIPE
	TransportEOF     = "eof"     // io.EOF, io.ErrUnexpectedEOF
	TransportTimeout = "timeout" // a deadline passed
)

// Request is one request of the load.
type Request struct {
	Seq uint64 `json:"seq"`
	ID  string `json:"id"`
	// Start is when it was sent; End when its answer (or error) came,
	// 0 when it had none when the drill stopped recording.
	Start time.Duration `json:"start"`
	End   time.Duration `json:"end,omitempty"`
	// Code is the HTTP status (0 when there was no answer).
	Code int `json:"code,omitempty"`
	// GRPCCode is the gRPC status code name of a gRPC call ("OK", …).
	GRPCCode string `json:"grpc_code,omitempty"`
	// Error is the client's error text, "" when it got an answer.
	Error string `json:"error,omitempty"`
	// Transport is what the typed transport error said (Transport*).
	Transport string `json:"transport,omitempty"`
	// Local is the client's local address of the connection it used.
	Local    string `json:"local,omitempty"`
	Reused   bool   `json:"reused,omitempty"`
	DialFail bool   `json:"dial_fail,omitempty"`
	// Unfinished: no result was recorded before the drill stopped
	// waiting for it.
	Unfinished bool `json:"unfinished,omitempty"`
	// Retried are the earlier attempts of a request the client retried
	// (--retry): Start and End span every attempt, the other fields
	// above are the last attempt's.
	Retried []Attempt `json:"retried,omitempty"`
	// GaveUp is why the client stopped retrying a request whose last
	// attempt still failed in a way the policy retries (GaveUp*); "" when
	// it was not retried again for another reason (the failure is one the
	// policy does not retry, or the deadline passed during the attempt).
	GaveUp string `json:"gave_up,omitempty"`
}

// Acked reports whether the client saw success (2xx, or gRPC OK).
func (q *Request) Acked() bool {
	if q.Unfinished || q.Error != "" {
		return false
	}
	if q.GRPCCode != "" {
		return q.GRPCCode == "OK"
	}
	return q.Code >= 200 && q.Code < 300
}

// Ledger is what the store committed, by request id.
type Ledger struct {
	// Source names where the ids were read ("redis hash drill:ledger at
	// 127.0.0.1:6379", "http://…").
	Source string `json:"source"`
	// Committed is how many times each request id was committed.
	Committed map[string]int64 `json:"committed"`
	// Reads is how many times the drill read the ledger after the load
	// stopped; Stable how long it stayed unchanged before the last read.
	Reads  int           `json:"reads"`
	Stable time.Duration `json:"stable"`
}

// Counter is the weak check: a number that should grow by the count of
// acknowledged requests.
type Counter struct {
	Key    string `json:"key"`
	Store  string `json:"store"`
	Before int64  `json:"before"`
	After  int64  `json:"after"`
}
