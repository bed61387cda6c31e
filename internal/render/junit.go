package render

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// JUnit XML, in the format of Ant's XMLJUnitResultFormatter that Jenkins,
// GitLab, GitHub test-report actions and most CI systems read: one
// <testsuite> per run, one <testcase> per rollout (it owns the failures of
// the requests sent from its start to the next rollout's start, and the
// SIGKILLs in that window), one for the write verification when the run
// made one, and a "verdict" test case only when the run failed for a
// reason none of those carry. A control run's (the demo's naive service's)
// failing test cases are reported as skipped with the reason, so that the
// report agrees with the drill's exit code.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitFailure `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// junitDetails is how many failed requests a test case lists.
const junitDetails = 20

func seconds(d time.Duration) string { return strconv.FormatFloat(max(d, 0).Seconds(), 'f', 3, 64) }

// WriteJUnit writes t as JUnit XML.
func WriteJUnit(w io.Writer, t *Timeline) error {
	doc := junitSuites{Name: t.Title}
	var total time.Duration
	for _, r := range t.Runs {
		s := runSuite(r)
		doc.Suites = append(doc.Suites, s)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
		total += r.Duration
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func runSuite(r *Run) junitSuite {
	s := junitSuite{Name: r.Name, Time: seconds(r.Duration)}
	if r.Command != "" {
		s.Properties = append(s.Properties, junitProperty{"command", r.Command})
	}
	for i, line := range r.Settings {
		s.Properties = append(s.Properties, junitProperty{fmt.Sprintf("setting.%d", i+1), line})
	}
	s.Properties = append(s.Properties,
		junitProperty{"verdict", r.Verdict},
		junitProperty{"requests.sent", strconv.FormatInt(r.Sent, 10)},
		junitProperty{"requests.failed", strconv.FormatInt(r.Failed, 10)})
	if r.Control {
		s.Properties = append(s.Properties, junitProperty{"control", "expected to fail"})
	}
	class := "lameduck.drill." + classPart(r.Name)
	add := func(c junitCase, why, kind, text string) {
		c.Classname = class
		if why != "" {
			f := &junitFailure{Message: why, Type: kind, Text: text}
			if r.Control {
				f.Message = "control run, expected to fail: " + why
				f.Type = ""
				c.Skipped = f
				s.Skipped++
			} else {
				c.Failure = f
				s.Failures++
			}
		}
		s.Cases = append(s.Cases, c)
	}

	windows := r.Rollouts
	if len(windows) == 0 {
		windows = []Rollout{{Index: 0, Start: 0, End: r.Duration}}
	}
	byWindow := make([][]Failure, len(windows))
	for _, fl := range r.Failures {
		i := sort.Search(len(windows), func(i int) bool { return windows[i].Start > fl.At }) - 1
		byWindow[max(i, 0)] = append(byWindow[max(i, 0)], fl)
	}
	killed := map[int][]string{}
	for _, l := range r.Lanes {
		for _, e := range l.Events {
			if e.Kind == EventSIGKILL {
				i := sort.Search(len(windows), func(i int) bool { return windows[i].Start > e.At }) - 1
				killed[max(i, 0)] = append(killed[max(i, 0)], fmt.Sprintf("%s SIGKILLed at %s", l.Replica, at(e.At)))
			}
		}
	}
	anyFailed := false
	for i, ro := range windows {
		name := fmt.Sprintf("rollout %d", ro.Index)
		if ro.Index == 0 {
			name = "load"
		}
		end := ro.End
		if end == 0 {
			end = r.Duration
		}
		c := junitCase{Name: name, Time: seconds(end - ro.Start)}
		var why []string
		kind := ""
		var text strings.Builder
		if fs := byWindow[i]; len(fs) > 0 {
			why = append(why, plural(len(fs), "request")+" failed")
			kind = failureKinds(fs)
			fmt.Fprintf(&text, "%d failed requests (first %d):\n", len(fs), min(len(fs), junitDetails))
			for _, fl := range fs[:min(len(fs), junitDetails)] {
				fmt.Fprintf(&text, "  %s %s on %s: %s, cause %s", at(fl.At), fl.Class, orNone(fl.Replica), fl.Error, fl.Cause)
				if fl.ID != "" {
					fmt.Fprintf(&text, " (request %s)", fl.ID)
				}
				text.WriteString("\n")
			}
		}
		if k := killed[i]; len(k) > 0 {
			why = append(why, strings.Join(k, ", "))
			if kind == "" {
				kind = "sigkill"
			}
		}
		if ro.Error != "" || (ro.Index > 0 && ro.End == 0) {
			msg := "did not complete"
			if ro.Error != "" {
				msg += ": " + ro.Error
			}
			why = append(why, msg)
			if kind == "" {
				kind = "rollout"
			}
		}
		if len(why) > 0 {
			anyFailed = true
		}
		add(c, strings.Join(why, "; "), kind, text.String())
	}
	if r.Writes != "" {
		c := junitCase{Name: "writes", Time: "0.000", SystemOut: r.Writes}
		var why []string
		if r.Lost > 0 {
			why = append(why, fmt.Sprintf("%d acknowledged writes lost", r.Lost))
		}
		if r.Duplicated > 0 {
			why = append(why, fmt.Sprintf("%d writes duplicated", r.Duplicated))
		}
		if len(why) > 0 {
			anyFailed = true
		}
		add(c, strings.Join(why, ", "), "writes", "")
	}
	if !r.Pass && !anyFailed {
		add(junitCase{Name: "verdict", Time: "0.000"}, r.Verdict, "verdict", "")
	}
	s.Tests = len(s.Cases)
	return s
}

// failureKinds names the classes of fs, most frequent first.
func failureKinds(fs []Failure) string {
	n := map[string]int{}
	for _, fl := range fs {
		n[fl.Class]++
	}
	var ks []string
	for k := range n {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if n[ks[i]] != n[ks[j]] {
			return n[ks[i]] > n[ks[j]]
		}
		return ks[i] < ks[j]
	})
	return strings.Join(ks, ",")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func orNone(replica string) string {
	if replica == "" {
		return "no replica"
	}
	return replica
}

// classPart makes a run name usable in a dotted JUnit class name.
func classPart(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "run"
	}
	return string(b)
}
