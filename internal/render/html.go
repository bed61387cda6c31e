package render

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

//go:embed page.html.tmpl
var pageSource string

//go:embed page.js
var pageScript string

//go:embed page.css
var pageStyle string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"dur":     shortDur,
	"percent": func(a, b int64) string { return percent(a, b) },
}).Parse(pageSource))

// WriteHTML writes t as one self-contained HTML page: inline CSS, inline
// SVG, inline script, no external resource. The page works without
// JavaScript; the script only adds hover details.
func WriteHTML(w io.Writer, t *Timeline) error {
	axis := time.Duration(0)
	for _, r := range t.Runs {
		axis = max(axis, r.Duration)
	}
	if axis <= 0 {
		axis = time.Second
	}
	bucket := t.Bucket
	if bucket <= 0 {
		bucket = BucketFor(axis, DefaultMaxBuckets)
	}
	causeIx := map[string]int{}
	var legend []legendCause
	for _, r := range t.Runs {
		add := func(key, expl string) {
			if _, ok := causeIx[key]; !ok {
				causeIx[key] = len(legend) % len(palette)
				legend = append(legend, legendCause{Key: key, Class: fmt.Sprintf("c%d", len(legend)%len(palette)), Color: palette[len(legend)%len(palette)], Explanation: expl})
			}
		}
		for _, c := range r.Causes {
			add(c.Key, c.Explanation)
		}
		for _, fl := range r.Failures {
			add(fl.Cause, "")
		}
	}
	var css strings.Builder
	css.WriteString(pageStyle)
	for _, c := range legend {
		fmt.Fprintf(&css, ".%s{fill:%s}.sw.%s{background:%s}\n", c.Class, c.Color, c.Class, c.Color)
	}
	page := pageData{
		Title:  t.Title,
		Style:  template.CSS(css.String()),
		Script: template.JS(pageScript),
		Bucket: shortDur(bucket),
		Legend: legend,
	}
	for i, r := range t.Runs {
		var b strings.Builder
		sw := &svgWriter{b: &b, run: r, axis: axis, bucket: bucket, causeIx: causeIx}
		sw.draw(i)
		data, err := failureData(r)
		if err != nil {
			return err
		}
		pr := pageRun{Run: r, Index: i, SVG: template.HTML(b.String()), Data: data}
		for _, c := range r.Causes {
			pr.Causes = append(pr.Causes, legendCause{Key: c.Key, Count: c.Count, Class: fmt.Sprintf("c%d", causeIx[c.Key]), Explanation: c.Explanation, Advice: c.Advice})
		}
		page.Runs = append(page.Runs, pr)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := pageTemplate.Execute(bw, page); err != nil {
		return err
	}
	return bw.Flush()
}

type pageData struct {
	Title  string
	Style  template.CSS
	Script template.JS
	Bucket string
	Legend []legendCause
	Runs   []pageRun
}

type pageRun struct {
	*Run
	Index  int
	SVG    template.HTML
	Data   string // base64
	Causes []legendCause
}

type legendCause struct {
	Key         string
	Count       int64
	Class       string
	Color       string
	Explanation string
	Advice      string
}

func percent(a, b int64) string {
	if b == 0 {
		return "0%"
	}
	p := float64(a) / float64(b) * 100
	if p > 0 && p < 0.1 {
		return "<0.1%"
	}
	return fmt.Sprintf("%.1f%%", p)
}

// failureData is the details table of a run's failure marks, in mark
// order: {"s": strings, "f": [[sent ms, latency ms, replica, class, cause,
// code, error, node, conn, moment, id], ...], "w": [[sent ms, replica,
// kind, id, times committed], ...] (the write marks), "c": {cause:
// explanation}},
// strings as indexes into "s"; gzipped and base64url-encoded (the page's
// script inflates it with the browser's DecompressionStream): a third of
// the JSON's size.
func failureData(r *Run) (string, error) {
	strs := []string{""}
	ix := map[string]int{"": 0}
	s := func(v string) int {
		i, ok := ix[v]
		if !ok {
			i = len(strs)
			ix[v] = i
			strs = append(strs, v)
		}
		return i
	}
	ms := func(d time.Duration) json.Number {
		return json.Number(fmt.Sprint(math.Round(float64(d)/1e5) / 10))
	}
	fs := markOrder(r)
	rows := make([][]any, len(fs))
	for i, fl := range fs {
		rows[i] = []any{ms(fl.At), ms(fl.Latency), s(fl.Replica), s(fl.Class), s(fl.Cause), fl.Code, s(fl.Error), fl.Node, s(fl.Conn), s(fl.Moment), s(fl.ID)}
	}
	ws := writeOrder(r)
	writes := make([][]any, len(ws))
	for i, wi := range ws {
		writes[i] = []any{ms(wi.At), s(wi.Replica), s(wi.Kind), s(wi.ID), wi.Committed}
	}
	causes := map[string]string{}
	for _, c := range r.Causes {
		causes[c.Key] = c.Explanation
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.DefaultCompression)
	if err := json.NewEncoder(zw).Encode(map[string]any{"s": strs, "f": rows, "w": writes, "c": causes}); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(z.Bytes()), nil
}
