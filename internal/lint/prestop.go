package lint

import (
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lameduck-dev/lameduck/internal/prestop"
)

// PreStop kinds.
const (
	PreStopNone           = "none"            // no preStop hook
	PreStopSleep          = "sleep"           // native lifecycle.preStop.sleep
	PreStopExecSleep      = "exec-sleep"      // exec of sleep N (directly or in a shell)
	PreStopLameduckSleep  = "lameduck-sleep"  // exec of lameduck prestop sleep
	PreStopLameduckDrain  = "lameduck-drain"  // exec of lameduck prestop drain
	PreStopLameduckSignal = "lameduck-signal" // exec of lameduck prestop signal
	PreStopHTTPDrain      = "httpGet-drain"   // httpGet of lameduck's /drain endpoint
	PreStopHTTP           = "httpGet"         // an HTTP call of unknown duration
	PreStopExec           = "exec"            // an arbitrary command of unknown duration
)

// PreStop is what lint understands of a container's preStop hook.
type PreStop struct {
	// Kind is one of the PreStop* constants.
	Kind string
	// Duration is how long the hook runs before the stop signal is sent
	// (its maximum for drain and signal); valid when Known.
	Duration time.Duration
	Known    bool
	// Hold is how long, counted from the start of termination, the hook
	// keeps the server accepting new requests (a sleep's length); the
	// application's own drain delay comes on top unless Drain is set.
	Hold time.Duration
	// Drain: the hook starts lameduck's drain itself (prestop drain), so
	// the application's drain delay starts at the same time as the hook.
	Drain bool
	// Shell is the shell or sleep binary an exec hook needs in the image
	// ("" when it needs none).
	Shell string
	// Stops: the hook starts the server's shutdown at T0 (ingress-nginx's
	// /wait-shutdown), so the server stops accepting then, after its own
	// delay.
	Stops bool
	// SendsQuit: the hook sends SIGQUIT (nginx -s quit, kill -QUIT, prestop signal).
	SendsQuit bool
	// Note explains an unknown duration.
	Note string
	// Path is the field path of the hook.
	Path string
}

// Describe says what the hook does, with its duration.
func (p PreStop) Describe() string {
	switch p.Kind {
	case PreStopNone:
		return "none"
	case PreStopSleep:
		return "sleep " + fmtDur(p.Duration)
	case PreStopExecSleep:
		return "exec sleep " + fmtDur(p.Duration)
	case PreStopLameduckSleep:
		return "lameduck prestop sleep " + fmtDur(p.Duration)
	case PreStopLameduckDrain:
		return "lameduck prestop drain (up to " + fmtDur(p.Duration) + ")"
	case PreStopHTTPDrain:
		return "httpGet /drain (up to " + fmtDur(p.Duration) + ")"
	case PreStopLameduckSignal:
		return "lameduck prestop signal (up to " + fmtDur(p.Duration) + ")"
	}
	if p.Hold > 0 {
		return p.Kind + " (unknown duration, at least " + fmtDur(p.Hold) + ")"
	}
	return p.Kind + " (unknown duration)"
}

var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "zsh": true, "ksh": true, "busybox": false}

// isShell reports whether argv runs a shell script: sh -c SCRIPT.
func isShell(argv []string) (script string, ok bool) {
	if len(argv) >= 3 && shells[path.Base(argv[0])] && strings.HasPrefix(argv[1], "-") && strings.Contains(argv[1], "c") {
		return strings.Join(argv[2:3], " "), true
	}
	return "", false
}

// isLameduck reports whether argv[0] is the lameduck binary.
func isLameduck(arg0 string) bool { return path.Base(arg0) == "lameduck" }

// analyzePreStop reads the container's preStop hook.
func analyzePreStop(c *corev1.Container, cpath string) PreStop {
	p := PreStop{Kind: PreStopNone, Known: true, Path: cpath}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return p
	}
	h := c.Lifecycle.PreStop
	p.Path = cpath + ".lifecycle.preStop"
	switch {
	case h.Sleep != nil:
		p.Kind, p.Duration, p.Hold = PreStopSleep, seconds(h.Sleep.Seconds), seconds(h.Sleep.Seconds)
	case h.HTTPGet != nil && strings.HasPrefix(h.HTTPGet.Path, "/drain"):
		// lameduck's drain endpoint: answers once nothing is in flight.
		p.Kind, p.Drain = PreStopHTTPDrain, true
		if u, err := url.Parse(h.HTTPGet.Path); err == nil {
			if d, err := prestop.ParseDuration(u.Query().Get("timeout")); err == nil {
				p.Duration = d
			}
		}
	case h.HTTPGet != nil:
		p.Kind, p.Known, p.Note = PreStopHTTP, false, "an httpGet hook lasts as long as the server takes to answer"
	case h.Exec != nil:
		analyzeExec(&p, h.Exec.Command)
	default:
		p.Kind, p.Known, p.Note = PreStopExec, false, "unsupported preStop handler"
	}
	return p
}

func analyzeExec(p *PreStop, argv []string) {
	p.Kind, p.Known = PreStopExec, false
	if len(argv) == 0 {
		p.Note = "empty exec command"
		return
	}
	if isLameduck(argv[0]) && len(argv) >= 2 && argv[1] == "prestop" {
		cmd, err := prestop.ParseArgs(argv[2:])
		if err != nil {
			p.Note = "cannot read the lameduck prestop command: " + err.Error()
			return
		}
		p.Known = true
		switch cmd.Action {
		case prestop.ActionSleep:
			p.Kind, p.Duration, p.Hold = PreStopLameduckSleep, cmd.Sleep, cmd.Sleep
		case prestop.ActionDrain:
			p.Kind, p.Duration, p.Drain = PreStopLameduckDrain, cmd.Timeout, true
		case prestop.ActionSignal:
			p.Kind, p.Duration = PreStopLameduckSignal, 0
			if cmd.Wait {
				p.Duration = cmd.Timeout
			}
			sig, _ := prestop.ParseSignal(cmd.Signal)
			p.SendsQuit = int(sig) == 3
		}
		return
	}
	if argv[0] == "/wait-shutdown" {
		// ingress-nginx: sends SIGTERM to the controller and waits for it to exit.
		p.Stops, p.Note = true, "ingress-nginx /wait-shutdown stops the controller at T0 and waits for it"
		return
	}
	if path.Base(argv[0]) == "sleep" {
		p.Shell = argv[0]
		if len(argv) == 2 {
			if d, ok := parseSleepArg(argv[1]); ok {
				p.Kind, p.Known, p.Duration, p.Hold = PreStopExecSleep, true, d, d
				return
			}
		}
		p.Note = "cannot read the sleep duration"
		return
	}
	script, ok := isShell(argv)
	if !ok {
		p.Note = "runs " + path.Base(argv[0]) + ", whose duration lint cannot know"
		p.SendsQuit = sendsQuit(strings.Join(argv, " "))
		return
	}
	p.Shell = argv[0]
	p.SendsQuit = sendsQuit(script)
	// A script made only of "sleep N" commands has a known duration; one
	// that starts with "sleep N" holds at least that long.
	total, allSleep, lead := time.Duration(0), true, true
	for _, cmd := range splitScript(script) {
		f := strings.Fields(cmd)
		if len(f) == 2 && (f[0] == "sleep" || path.Base(f[0]) == "sleep") {
			if d, ok := parseSleepArg(f[1]); ok {
				total += d
				if lead {
					p.Hold += d
				}
				continue
			}
		}
		allSleep, lead = false, false
	}
	if allSleep && total > 0 {
		p.Kind, p.Known, p.Duration, p.Hold = PreStopExecSleep, true, total, total
		return
	}
	p.Note = "runs a shell script whose duration lint cannot know"
}

// parseSleepArg reads the argument of sleep(1): seconds, optionally with
// an s/m/h suffix.
func parseSleepArg(s string) (time.Duration, bool) {
	mult := time.Second
	switch {
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		s, mult = s[:len(s)-1], time.Minute
	case strings.HasSuffix(s, "h"):
		s, mult = s[:len(s)-1], time.Hour
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e6 || f != f {
		return 0, false
	}
	return time.Duration(f * float64(mult)), true
}

// sendsQuit reports whether a command line sends SIGQUIT.
func sendsQuit(s string) bool {
	s = strings.ToLower(s)
	for _, pat := range []string{"-s quit", "-quit", "-sigquit", "-s sigquit", "-3 ", "kill -3", "--signal quit", "--signal=quit", "--signal sigquit", "--signal=sigquit"} {
		if strings.Contains(s, pat) {
			return true
		}
	}
	return false
}
