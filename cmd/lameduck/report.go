package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/lameduck-dev/lameduck/internal/drill/report"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/lameduck-dev/lameduck/internal/render"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// reportFlags are the outputs both `drill` and `report` write: the HTML
// timeline, JUnit XML and the Markdown summary.
type reportFlags struct {
	html, junit, markdown string
	files                 []*reportFile
}

type reportFile struct {
	flag, path string
	write      func(io.Writer, *render.Timeline) error
	f          *os.File
}

// addReportFlags registers --html, --junit and --markdown on fl.
func addReportFlags(fl *pflag.FlagSet, r *reportFlags) {
	fl.StringVar(&r.html, "html", "", "write the timeline as one self-contained HTML page (no network needed to view it) to this file")
	fl.StringVar(&r.junit, "junit", "", "write JUnit XML (a test suite per run, a test case per rollout) to this file")
	fl.StringVar(&r.markdown, "markdown", "", "write a Markdown summary (for $GITHUB_STEP_SUMMARY) to this file")
}

// open creates the output files, so that a bad path fails before a drill
// runs. "-" (stdout) is accepted only when stdout is true: drill writes its
// text report there.
func (r *reportFlags) open(stdout bool) error {
	for _, o := range []reportFile{
		{flag: "html", path: r.html, write: render.WriteHTML},
		{flag: "junit", path: r.junit, write: render.WriteJUnit},
		{flag: "markdown", path: r.markdown, write: render.WriteMarkdown},
	} {
		if o.path == "" {
			continue
		}
		if o.path == "-" && !stdout {
			r.close()
			return fmt.Errorf("--%s -: the text report goes to stdout; give a file (lameduck report writes to stdout)", o.flag)
		}
		if o.path != "-" {
			f, err := os.Create(o.path)
			if err != nil {
				r.close()
				return fmt.Errorf("--%s: %v", o.flag, err)
			}
			o.f = f
		}
		r.files = append(r.files, &o)
	}
	return nil
}

func (r *reportFlags) close() {
	for _, o := range r.files {
		if o.f != nil {
			o.f.Close()
		}
	}
}

// write renders runs into every open output and closes the files.
func (r *reportFlags) write(stdout io.Writer, runs []report.Run) error {
	defer r.close()
	if len(r.files) == 0 {
		return nil
	}
	t := render.FromDrill(runs)
	for _, o := range r.files {
		var w io.Writer = stdout
		if o.f != nil {
			w = o.f
		}
		err := o.write(w, t)
		if err == nil && o.f != nil {
			err = o.f.Close()
			o.f = nil
		}
		if err != nil {
			return fmt.Errorf("--%s: %v", o.flag, err)
		}
	}
	return nil
}

func newReportCmd() *cobra.Command {
	var r reportFlags
	cmd := &cobra.Command{
		Use:   "report [--html FILE] [--junit FILE] [--markdown FILE] RESULT.json",
		Short: "Render a saved drill result (drill --json) as an HTML timeline, JUnit XML or Markdown",
		Long: `Render the JSON document a drill wrote with --json (its runs, their verdicts and
the traces they were computed from) as:

  --html FILE       one self-contained HTML page: a time axis, a lane per replica
                    with its requests (per time bucket) and lifecycle (started,
                    ready, deleted, stop signal, SIGKILL, exit, logged phases), one
                    mark per failed request (hover for its details and cause),
                    the rollout steps and each balancer node's endpoint-removal lag
  --junit FILE      JUnit XML: a test suite per run, a test case per rollout
  --markdown FILE   a Markdown summary, e.g. for $GITHUB_STEP_SUMMARY

Without any of them it writes the HTML page to stdout. RESULT.json may be - for
stdin. The same flags on drill write the same files straight from the run.

As in the drill's exit code, the last run of the document is the verdict; the
earlier ones (the demo's naive run) are controls: JUnit reports their failures
as skipped.

Exit status: 0 written (whatever the drill's verdict: see the document's
exit_code), 1 an output could not be written, 2 usage error or unreadable
document.`,
		Example: `  lameduck drill --json result.json
  lameduck report --html report.html result.json
  lameduck report --junit junit.xml --markdown "$GITHUB_STEP_SUMMARY" result.json
  lameduck drill --json - | lameduck report - > report.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd, &r, args[0])
		},
	}
	addReportFlags(cmd.Flags(), &r)
	cmd.Flags().Lookup("html").Usage += " (- for stdout, the default)"
	cmd.Flags().Lookup("junit").Usage += " (- for stdout)"
	cmd.Flags().Lookup("markdown").Usage += " (- for stdout)"
	return cmd
}

func runReport(cmd *cobra.Command, r *reportFlags, file string) error {
	var in io.Reader = cmd.InOrStdin()
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return usageError("report: %v", err)
		}
		defer f.Close()
		in = f
	}
	var doc report.Document
	dec := json.NewDecoder(in)
	if err := dec.Decode(&doc); err != nil {
		return usageError("report: %s is not a drill --json document: %v", file, err)
	}
	switch {
	case len(doc.Runs) == 0:
		return usageError("report: %s holds no runs", file)
	case doc.Schema != trace.SchemaVersion:
		return usageError("report: %s has schema %d; this lameduck reads schema %d (re-run the drill with this version)", file, doc.Schema, trace.SchemaVersion)
	}
	for i, run := range doc.Runs {
		if run.Result == nil || run.Trace == nil {
			return usageError("report: %s: run %d has no result or no trace", file, i+1)
		}
	}
	if r.html == "" && r.junit == "" && r.markdown == "" {
		r.html = "-"
	}
	out := cmd.OutOrStdout()
	if err := r.open(true); err != nil {
		return usageError("report: %v", err)
	}
	if err := r.write(out, doc.Runs); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("report: %w", err)}
	}
	return nil
}
