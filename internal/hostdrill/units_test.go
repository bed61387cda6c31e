package hostdrill_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
)

// The deploy/systemd unit pair parses cleanly in systemd's own verifier
// (systemd-analyze, package systemd), and the service's timing adds up:
// LAMEDUCK_GRACE_PERIOD equals TimeoutStopSec, the LAMEDUCK_* variables
// are valid, and the socket is named as the service asks for it.
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze is missing (Debian package systemd; scripts/test.sh installs it): %v", err)
	}
	dir := t.TempDir()
	env := map[string]string{}
	var timeoutStop, fdName string
	for _, name := range []string{"lameduck-demo.socket", "lameduck-demo.service"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), "=")
			switch {
			case !ok:
			case k == "Environment":
				ek, ev, _ := strings.Cut(v, "=")
				env[ek] = ev
			case k == "TimeoutStopSec":
				timeoutStop = v
			case k == "FileDescriptorName":
				fdName = v
			}
		}
		// The verifier wants ExecStart to exist: point it at this binary.
		text := strings.ReplaceAll(string(b), "/usr/local/bin/lameduck", os.Args[0])
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(analyze, "verify", "--man=no", "./lameduck-demo.socket", "./lameduck-demo.service")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	if fdName != "http" {
		t.Errorf("FileDescriptorName=%q; the service serves the socket named http", fdName)
	}
	o, err := lameduck.OptionsFromEnv(lameduck.Options{}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("the unit's LAMEDUCK_* variables: %v", err)
	}
	stop, err := time.ParseDuration(timeoutStop)
	if err != nil || stop != o.GracePeriod {
		t.Errorf("TimeoutStopSec=%q, LAMEDUCK_GRACE_PERIOD=%v: keep them equal", timeoutStop, o.GracePeriod)
	}
}
