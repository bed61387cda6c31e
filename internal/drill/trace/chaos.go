package trace

import "time"

// Chaos scopes (Kill.Scope).
const (
	ChaosReplica = "replica" // one replica at a time
	ChaosNode    = "node"    // every replica of one node group at once
)

// Kill is one chaos action: replicas SIGKILLed at once, without deletion,
// preStop or stop signal (an OOM kill, a node lost), and the replicas the
// ReplicaSet started in their place.
type Kill struct {
	At    time.Duration `json:"at"`
	Scope string        `json:"scope"` // ChaosReplica or ChaosNode
	// Node is the node group of the killed replicas.
	Node         int      `json:"node"`
	Replicas     []string `json:"replicas"`
	Replacements []string `json:"replacements,omitempty"`
}

// Chaos is the chaos of one run (--chaos).
type Chaos struct {
	// Spec is the --chaos value in words ("3 kills", "0.5 kills/s").
	Spec  string `json:"spec"`
	Scope string `json:"scope"`
	// WindowStart and WindowEnd bound the moments drawn for the kills.
	WindowStart time.Duration `json:"window_start"`
	WindowEnd   time.Duration `json:"window_end"`
	Kills       []Kill        `json:"kills"`
}

// Why the client stopped retrying a request (Request.GaveUp).
const (
	GaveUpBudget     = "time-budget"          // the next wait would end past the request timeout
	GaveUpAttempts   = "attempts"             // the policy's cap on attempts
	GaveUpRetryAfter = "retry-after-too-long" // a 503 asked for a longer wait than the policy honours
	GaveUpOther      = "other"                // the body could not be rewound
)

// Attempt is one attempt of a request that the client retried (--retry):
// it failed in a way the retry policy retries, and the request was sent
// again with the same Idempotency-Key.
type Attempt struct {
	Start     time.Duration `json:"start"`
	End       time.Duration `json:"end"`
	Code      int           `json:"code,omitempty"`
	Error     string        `json:"error,omitempty"`
	Transport string        `json:"transport,omitempty"`
	Local     string        `json:"local,omitempty"`
	// Reason is the retry policy's reason ("connection_lost",
	// "unprocessed", "retry_after").
	Reason string `json:"reason"`
}
