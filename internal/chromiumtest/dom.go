package chromiumtest

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Parse parses a dumped DOM.
func Parse(t testing.TB, dom []byte) *html.Node {
	t.Helper()
	n, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatalf("parse the DOM: %v", err)
	}
	return n
}

// All returns the elements under n (n included) that match, in document
// order.
func All(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	if n.Type == html.ElementNode && match(n) {
		out = append([]*html.Node{n}, out...)
	}
	return out
}

// Elem matches elements named tag ("" for any) having every class in
// classes.
func Elem(tag string, classes ...string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		if tag != "" && n.Data != tag {
			return false
		}
		have := strings.Fields(Attr(n, "class"))
		for _, c := range classes {
			if !slices.Contains(have, c) {
				return false
			}
		}
		return true
	}
}

// Attr returns n's attribute key, "" when it has none.
func Attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// Text returns the text content of n.
func Text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}
