package systemd_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The systemd and upgrade packages are library code: the standard library
// and lameduck only (no go-systemd, no tableflip, no x/sys).
func TestImportGraphIsStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".", "../upgrade").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		switch p {
		case "github.com/lameduck-dev/lameduck", "github.com/lameduck-dev/lameduck/systemd", "github.com/lameduck-dev/lameduck/upgrade":
		default:
			t.Errorf("imports %s; only the standard library and lameduck are allowed", p)
		}
	}
}
