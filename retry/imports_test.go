package retry_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The package is part of the library: standard library only.
func TestImportGraphIsStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/lameduck-dev/lameduck/retry" {
			t.Errorf("package retry imports %s; only the standard library is allowed", p)
		}
	}
}
