package lint

import (
	"encoding/json"
	"io"
	"time"
)

// JSON output (lameduck lint --format json). Durations are in seconds.
type jsonResult struct {
	Workloads []jsonWorkload `json:"workloads"`
	Findings  []Finding      `json:"findings"`
	Skipped   []jsonSkipped  `json:"skipped"`
	Errors    []jsonError    `json:"errors"`
	Summary   map[string]int `json:"summary"`
}

type jsonWorkload struct {
	Object     string          `json:"object"`
	Kind       string          `json:"kind"`
	Name       string          `json:"name"`
	Namespace  string          `json:"namespace,omitempty"`
	File       string          `json:"file"`
	Line       int             `json:"line"`
	Containers []jsonContainer `json:"containers"`
	Findings   []Finding       `json:"findings"`
}

type jsonContainer struct {
	Name               string   `json:"name"`
	GracePeriodSeconds float64  `json:"gracePeriodSeconds"`
	GracePeriodDefault bool     `json:"gracePeriodDefault"`
	PreStop            jsonPre  `json:"preStop"`
	BehindService      bool     `json:"behindService"`
	LoadBalancer       *jsonLB  `json:"loadBalancer"`
	ServedBy           []string `json:"servedBy"`
	OwnDelay           *jsonOwn `json:"ownDelay"`
	ServingSeconds     *float64 `json:"servingSeconds"`
	Lameduck           bool     `json:"lameduck"`
	App                *jsonApp `json:"app"`
	AppError           string   `json:"appError,omitempty"`
	Notes              []string `json:"notes"`
}

type jsonOwn struct {
	Seconds float64 `json:"seconds"`
	Source  string  `json:"source"`
}

type jsonPre struct {
	Kind        string   `json:"kind"`
	Description string   `json:"description"`
	Seconds     *float64 `json:"seconds"`
}

type jsonLB struct {
	DelaySeconds float64 `json:"delaySeconds"`
	Source       string  `json:"source"`
	File         string  `json:"file"`
	Line         int     `json:"line"`
}

type jsonApp struct {
	TotalSeconds      float64  `json:"totalSeconds"`
	DrainDelaySeconds float64  `json:"drainDelaySeconds"`
	StopSeconds       float64  `json:"stopSeconds"`
	FlushSeconds      float64  `json:"flushSeconds"`
	CloseSeconds      float64  `json:"closeSeconds"`
	EndSeconds        float64  `json:"endSeconds"`
	StartsAt          string   `json:"startsAt"`
	Warnings          []string `json:"warnings"`
}

type jsonSkipped struct {
	File       string `json:"file"`
	Line       int    `json:"line"`
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Name       string `json:"name,omitempty"`
	Reason     string `json:"reason"`
}

type jsonError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func secs(d time.Duration) float64 { return d.Seconds() }

func ptr(f float64) *float64 { return &f }

// WriteJSON writes the result as one JSON document (see doc.go for the schema).
func WriteJSON(w io.Writer, r *Result) error {
	out := jsonResult{Findings: nonNil(r.Findings), Skipped: []jsonSkipped{}, Errors: []jsonError{},
		Summary: map[string]int{"error": r.Count(Error), "warning": r.Count(Warning), "info": r.Count(Info)}}
	out.Workloads = []jsonWorkload{}
	for _, wr := range r.Workloads {
		wl := wr.Workload
		jw := jsonWorkload{Object: wl.String(), Kind: wl.Kind, Name: wl.Name, Namespace: wl.Namespace,
			File: wl.File, Line: wl.Line, Findings: nonNil(wr.Findings), Containers: []jsonContainer{}}
		for _, b := range wr.Budgets {
			jc := jsonContainer{Name: b.Container, GracePeriodSeconds: secs(b.Grace), GracePeriodDefault: !b.GraceSet,
				PreStop:       jsonPre{Kind: b.PreStop.Kind, Description: b.PreStop.Describe()},
				BehindService: b.Behind, Lameduck: b.Lameduck, Notes: append([]string{}, b.Notes...)}
			if b.PreStop.Known {
				jc.PreStop.Seconds = ptr(secs(b.PreStop.Duration))
			}
			if b.LB != nil {
				jc.LoadBalancer = &jsonLB{DelaySeconds: secs(b.LB.Delay), Source: b.LB.Source, File: b.LB.File, Line: b.LB.Line}
			}
			if b.ServingKnown {
				jc.ServingSeconds = ptr(secs(b.Serving))
			}
			jc.ServedBy = []string{}
			for _, s := range b.Served {
				jc.ServedBy = append(jc.ServedBy, s.Name)
			}
			if b.Own != nil {
				jc.OwnDelay = &jsonOwn{Seconds: secs(b.Own.Delay), Source: b.Own.Source}
			}
			if b.AppErr != nil {
				jc.AppError = b.AppErr.Error()
			} else if b.Lameduck {
				start := "signal"
				if b.PreStop.Drain {
					start = "preStop drain"
				}
				jc.App = &jsonApp{TotalSeconds: secs(b.App.Total), DrainDelaySeconds: secs(b.App.DrainDelay),
					StopSeconds: secs(b.App.Stop), FlushSeconds: secs(b.App.Flush), CloseSeconds: secs(b.App.Close),
					EndSeconds: secs(b.AppEnd), StartsAt: start, Warnings: append([]string{}, b.App.Warnings...)}
			}
			jw.Containers = append(jw.Containers, jc)
		}
		out.Workloads = append(out.Workloads, jw)
	}
	for _, s := range r.Skipped {
		out.Skipped = append(out.Skipped, jsonSkipped(s))
	}
	for _, e := range r.Errors {
		out.Errors = append(out.Errors, jsonError{File: e.File, Line: e.Line, Column: e.Column, Message: e.Msg})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func nonNil(fs []Finding) []Finding {
	if fs == nil {
		return []Finding{}
	}
	return fs
}
