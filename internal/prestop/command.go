package prestop

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Defaults of the prestop flags.
const (
	// DefaultAdmin is the admin server asked to drain when neither --admin
	// nor $LAMEDUCK_ADMIN_ADDR is set.
	DefaultAdmin = "http://127.0.0.1:8081"
	// DefaultDrainTimeout bounds "prestop drain": Kubernetes' default
	// terminationGracePeriodSeconds.
	DefaultDrainTimeout = 30 * time.Second
	// DefaultSignalTimeout bounds the wait of "prestop signal --wait".
	DefaultSignalTimeout = 30 * time.Second
	// DefaultSignal is sent by "prestop signal" without --signal.
	DefaultSignal = "QUIT"
)

// Actions of the prestop command.
const (
	ActionSleep  = "sleep"
	ActionDrain  = "drain"
	ActionSignal = "signal"
)

// Command is a parsed "lameduck prestop" invocation.
type Command struct {
	// Action is ActionSleep, ActionDrain or ActionSignal.
	Action string
	// Sleep is the duration of ActionSleep.
	Sleep time.Duration
	// Admin is the base URL of the lameduck admin server (ActionDrain).
	Admin string
	// Token is sent as X-Lameduck-Token (ActionDrain).
	Token string
	// Timeout bounds ActionDrain and the wait of ActionSignal.
	Timeout time.Duration
	// PID is the process ActionSignal signals.
	PID int
	// Signal is the signal's name or number (ActionSignal).
	Signal string
	// Wait makes ActionSignal wait until the process and its descendants are gone.
	Wait bool
}

// DrainFlags registers the flags of "prestop drain" on fs, storing into c.
func (c *Command) DrainFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Admin, "admin", "", "base URL of the lameduck admin server (default $LAMEDUCK_ADMIN_ADDR, else "+DefaultAdmin+")")
	fs.StringVar(&c.Token, "token", "", "drain token sent as X-Lameduck-Token (default $LAMEDUCK_DRAIN_TOKEN)")
	fs.DurationVar(&c.Timeout, "timeout", DefaultDrainTimeout, "give up after this long (keep it below terminationGracePeriodSeconds)")
}

// SignalFlags registers the flags of "prestop signal" on fs, storing into c.
func (c *Command) SignalFlags(fs *pflag.FlagSet) {
	fs.IntVar(&c.PID, "pid", 1, "process to signal")
	fs.StringVar(&c.Signal, "signal", DefaultSignal, "signal name (QUIT, SIGQUIT) or number")
	fs.BoolVar(&c.Wait, "wait", false, "wait until the process and its descendants are gone")
	fs.DurationVar(&c.Timeout, "timeout", DefaultSignalTimeout, "give up waiting after this long")
}

// ParseArgs parses the arguments that follow "prestop" on a command line,
// such as ["sleep", "10s"] or ["drain", "--timeout", "60s"]. It is what
// "lameduck lint" uses to read a manifest's preStop hook.
func ParseArgs(args []string) (Command, error) {
	if len(args) == 0 {
		return Command{}, errors.New("prestop: missing action (sleep, drain or signal)")
	}
	c := Command{Action: args[0]}
	fs := pflag.NewFlagSet("prestop "+args[0], pflag.ContinueOnError)
	fs.SetOutput(discard{})
	switch c.Action {
	case ActionSleep:
	case ActionDrain:
		c.DrainFlags(fs)
	case ActionSignal:
		c.SignalFlags(fs)
	default:
		return Command{}, fmt.Errorf("prestop: unknown action %q (want sleep, drain or signal)", c.Action)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return Command{}, fmt.Errorf("prestop %s: %w", c.Action, err)
	}
	rest := fs.Args()
	switch c.Action {
	case ActionSleep:
		if len(rest) != 1 {
			return Command{}, errors.New("prestop sleep: want exactly one duration, such as 10s")
		}
		d, err := ParseDuration(rest[0])
		if err != nil {
			return Command{}, fmt.Errorf("prestop sleep: %w", err)
		}
		c.Sleep = d
	default:
		if len(rest) != 0 {
			return Command{}, fmt.Errorf("prestop %s: unexpected argument %q", c.Action, rest[0])
		}
	}
	if c.Action == ActionSignal {
		if _, err := ParseSignal(c.Signal); err != nil {
			return Command{}, err
		}
	}
	return c, nil
}

// ParseDuration accepts Go durations ("10s", "1m30s") and plain seconds
// ("10", "2.5"), like the lameduck environment variables. Negative
// durations are rejected.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || f > float64(1<<62)/float64(time.Second) {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		d = time.Duration(f * float64(time.Second))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("invalid duration %q (want Go syntax such as 10s or plain seconds such as 10)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return d, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
