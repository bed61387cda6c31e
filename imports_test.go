package lameduck

import (
	"os/exec"
	"strings"
	"testing"
)

// The library must stay light: its import graph is the standard library.
// Heavy dependencies belong to subpackages (promlameduck, grpclameduck) and
// to the CLI's internal packages.
func TestImportGraphIsStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/lameduck-dev/lameduck" {
			t.Errorf("the library imports %s; only the standard library is allowed", p)
		}
	}
}
