package drill

import (
	"math/rand/v2"
	"time"
)

// ChaosRand returns the random stream --chaos draws from for a seed: the
// kill moments first (Moments), then the victims. The local drill and
// drill --kube use the same stream, so one seed draws the same moments on
// both backends.
func ChaosRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0xc4a05c4a05))
}

// Moments draws the kill moments with rng: offsets into the window, sorted.
func (c ChaosSpec) Moments(rng *rand.Rand) []time.Duration { return c.moments(rng) }
