package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	appsv1beta2 "k8s.io/api/apps/v1beta2"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	kjson "sigs.k8s.io/json"
)

// MaxFileSize is the largest input read; larger inputs are an error.
const MaxFileSize = 32 << 20

// StdinName names standard input in messages.
const StdinName = "<stdin>"

// Object is one Kubernetes object read from the input, decoded into its
// API type (*appsv1.Deployment, *corev1.Service, *Rollout, ...).
type Object struct {
	// File is the input it came from; Line and Column where it starts.
	File         string
	Line, Column int
	// APIVersion, Kind, Name and Namespace identify it.
	APIVersion, Kind, Name, Namespace string
	// Obj is the decoded object. For a removed apiVersion (Removed set) it
	// is the object converted to the current apiVersion's type.
	Obj any
	// Removed is the Kubernetes version that stopped serving APIVersion
	// ("1.16"), empty for served apiVersions.
	Removed string

	// Positions are found again on demand by parsing the document (doc,
	// whose first line is lineOffset+1; item is the index in a List's
	// items, or -1), so the YAML trees of the whole input are not kept.
	doc        []byte
	lineOffset int
	item       int
	node       *yaml.Node // the object's mapping node, while it is read
}

// String returns "Kind namespace/name" (or "Kind name").
func (o *Object) String() string {
	if o.Namespace != "" {
		return o.Kind + " " + o.Namespace + "/" + o.Name
	}
	return o.Kind + " " + o.Name
}

// Pos returns the line and column of the field at path (such as
// "spec.template.spec.containers[0].lifecycle") followed by the literal
// keys (map keys that contain dots, like annotation names), or of its
// closest ancestor present in the document.
func (o *Object) Pos(path string, keys ...string) (line, col int) {
	segs := parsePath(path)
	for _, k := range keys {
		segs = append(segs, pathSeg{field: k, index: -1})
	}
	n := resolve(o.root(), segs)
	if n == nil {
		return o.Line, o.Column
	}
	return n.Line + o.lineOffset, n.Column
}

// root returns the object's mapping node, parsing its document again if
// it was dropped after reading. The last document parsed is kept (the
// objects of a List share one), so that positions cost time linear in the
// input and no YAML tree of the whole input is kept.
func (o *Object) root() *yaml.Node {
	if o.node != nil || len(o.doc) == 0 {
		return o.node
	}
	n := lastDoc.get(o.doc)
	if n == nil {
		return nil
	}
	if o.item >= 0 {
		items := scalarField(n, "items")
		if items == nil || o.item >= len(items.Content) {
			return nil
		}
		n = items.Content[o.item]
	}
	return n
}

// lastDoc caches the root node of the last document parsed for positions.
var lastDoc docCache

type docCache struct {
	mu   sync.Mutex
	key  *byte
	size int
	root *yaml.Node
}

func (c *docCache) get(doc []byte) *yaml.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key == &doc[0] && c.size == len(doc) {
		return c.root
	}
	var d yaml.Node
	c.key, c.size, c.root = &doc[0], len(doc), nil
	if yaml.Unmarshal(doc, &d) == nil && len(d.Content) > 0 {
		c.root = d.Content[0]
	}
	return c.root
}

// Skipped is an object that was read but is not checked.
type Skipped struct {
	File                   string
	Line                   int
	APIVersion, Kind, Name string
	Reason                 string
}

// ReadError is input lint cannot read: where, and what was expected.
type ReadError struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *ReadError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Input is everything read from the paths given to lint.
type Input struct {
	Objects []*Object
	Skipped []Skipped
	Errors  []*ReadError
}

// kindInfo says how a checked kind is decoded.
type kindInfo struct {
	apiVersion string     // the served apiVersion lint reads
	new        func() any // a new value of its Go type
}

// checkedKinds are decoded and checked; every other kind is skipped.
var checkedKinds = map[string]kindInfo{
	"Deployment":              {"apps/v1", func() any { return &appsv1.Deployment{} }},
	"StatefulSet":             {"apps/v1", func() any { return &appsv1.StatefulSet{} }},
	"DaemonSet":               {"apps/v1", func() any { return &appsv1.DaemonSet{} }},
	"ReplicaSet":              {"apps/v1", func() any { return &appsv1.ReplicaSet{} }},
	"ReplicationController":   {"v1", func() any { return &corev1.ReplicationController{} }},
	"Pod":                     {"v1", func() any { return &corev1.Pod{} }},
	"Rollout":                 {"argoproj.io/v1alpha1", func() any { return &Rollout{} }},
	"Service":                 {"v1", func() any { return &corev1.Service{} }},
	"Ingress":                 {"networking.k8s.io/v1", func() any { return &networkingv1.Ingress{} }},
	"PodDisruptionBudget":     {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
	"HorizontalPodAutoscaler": {"autoscaling/v2", func() any { return &autoscalingv2.HorizontalPodAutoscaler{} }},
	"ConfigMap":               {"v1", func() any { return &corev1.ConfigMap{} }},
}

// otherVersions are apiVersions still served for a checked kind: decoded
// with their own type (nil: leniently, into the checked kind's type).
var otherVersions = map[string]func() any{
	"autoscaling/v1/HorizontalPodAutoscaler": func() any { return &autoscalingv1.HorizontalPodAutoscaler{} },
}

// removedAPI is an apiVersion of a checked kind that Kubernetes no longer
// serves: lint reports it (rule removed-api-version) and checks the object
// as if it had the current apiVersion.
type removedAPI struct {
	removedIn string
	legacy    func() any // strict decoding with the old type; nil: lenient
}

var removedAPIs = map[string]removedAPI{
	"extensions/v1beta1/Deployment":               {"1.16", func() any { return &extensionsv1beta1.Deployment{} }},
	"extensions/v1beta1/DaemonSet":                {"1.16", func() any { return &extensionsv1beta1.DaemonSet{} }},
	"extensions/v1beta1/ReplicaSet":               {"1.16", func() any { return &extensionsv1beta1.ReplicaSet{} }},
	"extensions/v1beta1/Ingress":                  {"1.22", func() any { return &extensionsv1beta1.Ingress{} }},
	"apps/v1beta1/Deployment":                     {"1.16", func() any { return &appsv1beta1.Deployment{} }},
	"apps/v1beta1/StatefulSet":                    {"1.16", func() any { return &appsv1beta1.StatefulSet{} }},
	"apps/v1beta2/Deployment":                     {"1.16", func() any { return &appsv1beta2.Deployment{} }},
	"apps/v1beta2/StatefulSet":                    {"1.16", func() any { return &appsv1beta2.StatefulSet{} }},
	"apps/v1beta2/DaemonSet":                      {"1.16", func() any { return &appsv1beta2.DaemonSet{} }},
	"apps/v1beta2/ReplicaSet":                     {"1.16", func() any { return &appsv1beta2.ReplicaSet{} }},
	"networking.k8s.io/v1beta1/Ingress":           {"1.22", func() any { return &networkingv1beta1.Ingress{} }},
	"policy/v1beta1/PodDisruptionBudget":          {"1.25", func() any { return &policyv1beta1.PodDisruptionBudget{} }},
	"autoscaling/v2beta1/HorizontalPodAutoscaler": {"1.25", nil},
	"autoscaling/v2beta2/HorizontalPodAutoscaler": {"1.26", nil},
}

// ReadPaths reads files, directories (recursively: *.yaml, *.yml, *.json)
// and "-" (stdin) in order.
func ReadPaths(paths []string, stdin io.Reader) *Input {
	in := &Input{}
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(io.LimitReader(stdin, MaxFileSize+1))
			if err != nil {
				in.Errors = append(in.Errors, &ReadError{File: StdinName, Msg: err.Error()})
				continue
			}
			in.add(ReadBytes(StdinName, data, false))
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			in.Errors = append(in.Errors, &ReadError{File: p, Msg: "cannot read: " + unwrapPathError(err)})
			continue
		}
		if !fi.IsDir() {
			in.add(readFile(p, false))
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				in.Errors = append(in.Errors, &ReadError{File: path, Msg: "cannot read: " + unwrapPathError(err)})
				return nil
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".yaml", ".yml", ".json":
				in.add(readFile(path, true))
			}
			return nil
		})
		if err != nil {
			in.Errors = append(in.Errors, &ReadError{File: p, Msg: err.Error()})
		}
	}
	return in
}

func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (in *Input) add(o *Input) {
	in.Objects = append(in.Objects, o.Objects...)
	in.Skipped = append(in.Skipped, o.Skipped...)
	in.Errors = append(in.Errors, o.Errors...)
}

func readFile(path string, walked bool) *Input {
	f, err := os.Open(path)
	if err != nil {
		return &Input{Errors: []*ReadError{{File: path, Msg: "cannot read: " + unwrapPathError(err)}}}
	}
	defer f.Close()
	var buf bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 && fi.Size() <= MaxFileSize {
		buf.Grow(int(fi.Size()) + bytes.MinRead) // one allocation, not a doubling series
	}
	_, err = buf.ReadFrom(io.LimitReader(f, MaxFileSize+1))
	data := buf.Bytes()
	if err != nil {
		return &Input{Errors: []*ReadError{{File: path, Msg: "cannot read: " + err.Error()}}}
	}
	return ReadBytes(path, data, walked)
}

// ReadBytes reads the multi-document YAML (or JSON) in data. name is used
// in messages. walked is true for files found by walking a directory:
// there, documents that are not Kubernetes objects at all (no apiVersion
// and no kind, such as a kustomization.yaml or a Helm values.yaml) are
// skipped instead of being errors. It never panics.
func ReadBytes(name string, data []byte, walked bool) (in *Input) {
	defer func() {
		if r := recover(); r != nil {
			// A bug in a YAML library must not crash CI; FuzzRead looks for them.
			in = &Input{Errors: []*ReadError{{File: name, Msg: fmt.Sprintf("internal error while reading (please report): %v", r)}}}
		}
	}()
	return readBytes(name, data, walked, true)
}

// readBytes is ReadBytes; with safe false it reads the documents one by
// one and lets panics through (for FuzzRead).
func readBytes(name string, data []byte, walked, safe bool) *Input {
	in := &Input{}
	fail := func(line, col int, format string, args ...any) {
		in.Errors = append(in.Errors, &ReadError{File: name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
	}
	if len(data) > MaxFileSize {
		fail(0, 0, "input larger than %d MiB; expected Kubernetes YAML manifests", MaxFileSize>>20)
		return in
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		fail(0, 0, "binary data (NUL byte at offset %d); expected Kubernetes YAML manifests", i)
		return in
	}
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		fail(1+bytes.Count(data[:i], []byte("\n")), 0, "invalid UTF-8 at offset %d; expected Kubernetes YAML manifests", i)
		return in
	}
	if base := strings.ToLower(filepath.Base(name)); base == "kustomization.yaml" || base == "kustomization.yml" {
		in.Skipped = append(in.Skipped, Skipped{File: name, Line: 1, Kind: "Kustomization",
			Reason: "kustomize configuration; lint the built output instead: kubectl kustomize DIR | lameduck lint -"})
		return in
	}
	docs := splitDocuments(data)
	parts := make([]*Input, len(docs))
	readOne := func(i int) {
		parts[i] = &Input{}
		if safe {
			defer func() {
				if r := recover(); r != nil {
					// A bug in a YAML library must not crash CI; FuzzRead looks for them.
					parts[i] = &Input{Errors: []*ReadError{{File: name, Line: docs[i].line,
						Msg: fmt.Sprintf("internal error while reading (please report): %v", r)}}}
				}
			}()
		}
		readDocument(parts[i], name, docs[i].data, docs[i].line-1, walked)
	}
	workers := min(runtime.GOMAXPROCS(0), len(docs)/16)
	if !safe || workers < 2 {
		for i := range docs {
			readOne(i)
		}
	} else {
		// Documents are independent: decode them on every core.
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(docs) {
						return
					}
					readOne(i)
				}
			})
		}
		wg.Wait()
	}
	for _, p := range parts {
		in.add(p)
	}
	return in
}

type document struct {
	data []byte
	line int // 1-based line of the document's first line
}

// splitDocuments splits at "---" lines exactly as Kubernetes'
// YAMLReader does (a line starting with "---" followed by nothing but
// spaces or a comment), remembering where each document starts.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine, line := 0, 1, 1
	for i := 0; i <= len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data) + 1
		if end >= 0 {
			end += i
			next = end + 1
		} else {
			end = len(data)
		}
		l := data[i:end]
		if bytes.HasPrefix(l, []byte("---")) {
			rest := strings.TrimSpace(string(l[3:]))
			if rest == "" || rest[0] == '#' {
				docs = append(docs, document{data: data[start:i], line: startLine})
				start, startLine = min(next, len(data)), line+1
			}
		}
		i = next
		line++
	}
	docs = append(docs, document{data: data[start:], line: startLine})
	return docs
}

var yamlLineRE = regexp.MustCompile(`line (\d+): `)

// fixLines rewrites "line N:" in a YAML library error to the file's line.
func fixLines(msg string, offset int) (string, int) {
	line := 0
	msg = yamlLineRE.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(yamlLineRE.FindStringSubmatch(m)[1])
		if line == 0 {
			line = n + offset
		}
		return ""
	})
	return msg, line
}

func readDocument(in *Input, name string, data []byte, offset int, walked bool) {
	fail := func(line, col int, format string, args ...any) {
		in.Errors = append(in.Errors, &ReadError{File: name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg, line := fixLines(strings.TrimPrefix(err.Error(), "yaml: "), offset)
		if line == 0 {
			line = offset + 1
		}
		fail(line, 0, "malformed YAML: %s", msg)
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return // empty document (only comments or whitespace)
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return
	}
	if root.Kind != yaml.MappingNode {
		fail(root.Line+offset, root.Column, "expected a Kubernetes object (a mapping with apiVersion and kind), found %s", nodeKind(root))
		return
	}
	readObject(in, name, data, root, offset, -1, walked)
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the scalar %q", truncate(n.Value, 40))
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// readObject decodes one object, root, of the document doc (whose lines
// are offset by offset; item is its index in a List's items, or -1). A v1
// List is expanded into its items.
func readObject(in *Input, name string, doc []byte, root *yaml.Node, offset, item int, walked bool) {
	fail := func(line, col int, format string, args ...any) {
		in.Errors = append(in.Errors, &ReadError{File: name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
	}
	apiVersion, kind := scalarField(root, "apiVersion"), scalarField(root, "kind")
	objName := scalarField(scalarField(root, "metadata"), "name")
	line, col := root.Line+offset, root.Column
	if apiVersion == nil && kind == nil {
		if walked {
			reason := "not a Kubernetes object (no apiVersion and kind)"
			if item < 0 && isPatch(root) {
				reason = patchReason("apiVersion and kind")
			}
			in.Skipped = append(in.Skipped, Skipped{File: name, Line: line, Reason: reason})
			return
		}
		fail(line, col, "expected a Kubernetes object with apiVersion and kind, found neither")
		return
	}
	for _, f := range []struct {
		name string
		n    *yaml.Node
	}{{"apiVersion", apiVersion}, {"kind", kind}} {
		if f.n == nil {
			if walked && item < 0 && isPatch(root) {
				in.Skipped = append(in.Skipped, Skipped{File: name, Line: line, Reason: patchReason(f.name)})
				return
			}
			fail(line, col, "expected a Kubernetes object: %s is missing", f.name)
			return
		}
		if f.n.Kind != yaml.ScalarNode || f.n.Tag != "!!str" || f.n.Value == "" {
			fail(f.n.Line+offset, f.n.Column, "expected %s to be a non-empty string", f.name)
			return
		}
	}
	nameStr := ""
	if objName != nil {
		nameStr = objName.Value
	}
	if kind.Value == "List" && (apiVersion.Value == "v1" || apiVersion.Value == "List") && item < 0 {
		items := scalarField(root, "items")
		if items == nil || items.Kind != yaml.SequenceNode {
			if items != nil {
				fail(items.Line+offset, items.Column, "expected items of the List to be a list")
			}
			return
		}
		for i, it := range items.Content {
			if it.Kind != yaml.MappingNode {
				fail(it.Line+offset, it.Column, "expected a Kubernetes object in the List's items, found %s", nodeKind(it))
				continue
			}
			readObject(in, name, doc, it, offset, i, walked)
		}
		return
	}
	info, checked := checkedKinds[kind.Value]
	if !checked {
		in.Skipped = append(in.Skipped, Skipped{File: name, Line: line, APIVersion: apiVersion.Value, Kind: kind.Value, Name: nameStr,
			Reason: "kind not checked"})
		return
	}
	obj := &Object{File: name, Line: line, Column: col, APIVersion: apiVersion.Value, Kind: kind.Value, Name: nameStr,
		doc: doc, lineOffset: offset, item: item, node: root}
	defer func() { obj.node = nil }() // found again on demand: see Object.root
	gvk := apiVersion.Value + "/" + kind.Value
	strictType, lenient := info.new, false
	removed, isRemoved := removedAPIs[gvk]
	switch {
	case apiVersion.Value == info.apiVersion:
	case otherVersions[gvk] != nil:
		strictType = otherVersions[gvk]
	case isRemoved:
		obj.Removed = removed.removedIn
		strictType, lenient = removed.legacy, true
		if strictType == nil {
			strictType = info.new
		}
	default:
		in.Skipped = append(in.Skipped, Skipped{File: name, Line: line, APIVersion: apiVersion.Value, Kind: kind.Value, Name: nameStr,
			Reason: fmt.Sprintf("apiVersion %s not checked (lint reads %s %s)", apiVersion.Value, info.apiVersion, kind.Value)})
		return
	}
	hint := 0
	if item < 0 {
		hint = len(doc) + len(doc)/4 // JSON is about as long as the YAML
	}
	data, dups, ok := toJSON(root, maxJSONExpansion*len(doc)+4096, hint)
	if !ok {
		fail(line, col, "%s: aliases expand beyond %d times the document's size or nest too deep", kind.Value, maxJSONExpansion)
		return
	}
	for _, d := range dups {
		fail(d.line+offset, d.col, "%s: field %s is set twice; expected each field once", kind.Value, d.path)
	}
	if len(dups) > 0 {
		return
	}
	decoded := strictType()
	strict, err := kjson.UnmarshalStrict(data, decoded)
	if err == nil && (len(strict) == 0 || isRemoved && removed.legacy == nil) {
		strict = nil
	}
	if err != nil || len(strict) > 0 {
		for _, e := range append(strict, err) {
			if e != nil {
				in.Errors = append(in.Errors, decodeError(obj, e))
			}
		}
		return
	}
	if lenient || otherVersions[gvk] != nil {
		decoded = convertLegacy(decoded, data, info.new())
	}
	obj.Obj = decoded
	if m, ok := decoded.(interface{ GetNamespace() string }); ok {
		obj.Namespace = m.GetNamespace()
	}
	if obj.Name == "" {
		fail(line, col, "expected %s to have metadata.name", kind.Value)
		return
	}
	in.Objects = append(in.Objects, obj)
}

func patchReason(missing string) string {
	return "a partial object (a kustomize patch?): no " + missing + "; lint the built output too: kubectl kustomize DIR | lameduck lint -"
}

// isPatch reports whether a mapping without apiVersion or kind looks like
// part of an object (a kustomize strategic-merge or JSON patch): it has
// metadata or spec.
func isPatch(root *yaml.Node) bool {
	return scalarField(root, "metadata") != nil || scalarField(root, "spec") != nil || scalarField(root, "kind") != nil ||
		scalarField(root, "apiVersion") != nil
}

// scalarField returns the value node of key in the mapping m, or nil.
func scalarField(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

var (
	fieldRE       = regexp.MustCompile(`(?:unknown|duplicate) field "([^"]+)"`)
	structFieldRE = regexp.MustCompile(`Go struct field [A-Za-z0-9_]+\.(\S+) of type (\S+)`)
	cannotRE      = regexp.MustCompile(`cannot unmarshal (\w+)`)
)

// decodeError turns a decoder error into a ReadError at the field it names.
func decodeError(o *Object, err error) *ReadError {
	msg := err.Error()
	re := &ReadError{File: o.File, Line: o.Line, Column: o.Column}
	switch {
	case fieldRE.MatchString(msg):
		m := fieldRE.FindStringSubmatch(msg)
		re.Line, re.Column = o.Pos(m[1])
		if strings.HasPrefix(msg, "duplicate") || strings.Contains(msg, "duplicate field") {
			re.Msg = fmt.Sprintf("%s: field %s is set twice; expected each field once", o.Kind, m[1])
		} else {
			re.Msg = fmt.Sprintf("%s: unknown field %s; expected a field of the %s %s API (misspelled?)", o.Kind, m[1], o.APIVersion, o.Kind)
		}
	case structFieldRE.MatchString(msg):
		m := structFieldRE.FindStringSubmatch(msg)
		re.Line, re.Column = o.Pos(m[1])
		got := "a value"
		if c := cannotRE.FindStringSubmatch(msg); c != nil {
			got = "a " + c[1]
		}
		re.Msg = fmt.Sprintf("%s: field %s is %s; expected %s", o.Kind, m[1], got, goTypeName(m[2]))
	default:
		text, line := fixLines(msg, o.lineOffset)
		if line > 0 {
			re.Line, re.Column = line, 0
		}
		text = strings.TrimSpace(strings.ReplaceAll(strings.TrimPrefix(text, "yaml: "), "unmarshal errors:\n", ""))
		re.Msg = fmt.Sprintf("%s: %s", o.Kind, text)
	}
	return re
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "*int"):
		return "an integer"
	case t == "string", t == "*string":
		return "a string"
	case t == "bool", t == "*bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	}
	t = strings.TrimPrefix(t, "*")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	return "a " + t
}

// pathSeg is one step of a field path: a field name or a list index.
type pathSeg struct {
	field string
	index int // -1 for a field
}

// parsePath parses "a.b[0].c" (as in decoder errors) into segments.
func parsePath(p string) []pathSeg {
	var segs []pathSeg
	for _, part := range strings.Split(p, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				segs = append(segs, pathSeg{field: part, index: -1})
				break
			}
			if i > 0 {
				segs = append(segs, pathSeg{field: part[:i], index: -1})
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				break
			}
			n, err := strconv.Atoi(part[i+1 : i+j])
			if err == nil {
				segs = append(segs, pathSeg{index: n})
			}
			part = part[i+j+1:]
		}
	}
	return segs
}

// resolve walks segs from n and returns the deepest node reached: the
// node at the path, or its closest existing ancestor's key. A field step
// on a list (decoder type errors omit indexes) tries each element.
func resolve(n *yaml.Node, segs []pathSeg) *yaml.Node {
	best, _ := walk(n, segs, 0)
	return best
}

// walk returns the deepest node reached and how many segments matched.
func walk(n *yaml.Node, segs []pathSeg, depth int) (*yaml.Node, int) {
	if n == nil {
		return nil, 0
	}
	if depth > 100 {
		return n, 0
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if len(segs) == 0 {
		return n, 0
	}
	s := segs[0]
	switch {
	case n.Kind == yaml.MappingNode && s.index < 0:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == s.field {
				if len(segs) == 1 {
					return n.Content[i], 1
				}
				child, k := walk(n.Content[i+1], segs[1:], depth+1)
				if k == 0 {
					return n.Content[i], 1
				}
				return child, k + 1
			}
		}
	case n.Kind == yaml.SequenceNode && s.index >= 0:
		if s.index < len(n.Content) {
			child, k := walk(n.Content[s.index], segs[1:], depth+1)
			if len(segs) == 1 || k == 0 {
				return n.Content[s.index], 1
			}
			return child, k + 1
		}
	case n.Kind == yaml.SequenceNode && s.index < 0:
		var best *yaml.Node
		bestK := 0
		for _, c := range n.Content {
			if child, k := walk(c, segs, depth+1); k > bestK {
				best, bestK = child, k
			}
		}
		if best != nil {
			return best, bestK
		}
	}
	return n, 0
}

// sortedKinds lists the checked kinds (for messages and docs).
func sortedKinds() []string {
	ks := make([]string, 0, len(checkedKinds))
	for k := range checkedKinds {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
