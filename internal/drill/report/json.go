package report

import (
	"encoding/json"
	"io"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// Run is one run in the JSON document: its result (with its verdict) and
// the trace it was computed from.
type Run struct {
	*analysis.Result
	Trace *trace.Trace `json:"trace"`
}

// Document is the --json document.
type Document struct {
	// Schema is trace.SchemaVersion.
	Schema int   `json:"schema"`
	Runs   []Run `json:"runs"`
	// ExitCode is the drill's exit code.
	ExitCode int `json:"exit_code"`
}

// JSON writes the document, indented.
func JSON(w io.Writer, runs []Run, exitCode int) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Document{Schema: trace.SchemaVersion, Runs: runs, ExitCode: exitCode})
}
