//go:build !unix

package prestop

import (
	"context"
	"errors"
	"time"
)

// Signal is not supported on this platform.
type Signal struct {
	PID     int
	Signal  int
	Wait    bool
	Timeout time.Duration
	Poll    time.Duration
}

// ParseSignal is not supported on this platform.
func ParseSignal(s string) (int, error) {
	return 0, errors.New("prestop signal: not supported on this platform")
}

// Run is not supported on this platform.
func (s Signal) Run(ctx context.Context, logf Logf) error {
	return errors.New("prestop signal: not supported on this platform")
}
