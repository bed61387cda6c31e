package lint

import (
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxJSONExpansion bounds the JSON a document may expand to through
// aliases (a "billion laughs" document), as a multiple of its size.
const maxJSONExpansion = 16

// duplicateKey is a mapping key set twice in a document.
type duplicateKey struct {
	path      string
	line, col int
}

// toJSON converts a YAML node to JSON the way kubectl reads YAML
// (sigs.k8s.io/yaml): YAML 1.1 booleans (yes, no, on, off) are booleans,
// merge keys (<<) are merged, aliases are expanded, keys become strings,
// timestamps stay strings. It reports keys set twice instead of letting the
// last one win. ok is false when aliases expand the document beyond limit
// bytes or nest too deep.
func toJSON(n *yaml.Node, limit, sizeHint int) (out []byte, dups []duplicateKey, ok bool) {
	c := &jsonConv{limit: limit, buf: make([]byte, 0, sizeHint)}
	c.value(n, 0)
	return c.buf, c.dups, !c.failed
}

type jsonConv struct {
	buf    []byte
	limit  int
	failed bool
	dups   []duplicateKey
	path   []string
}

func (c *jsonConv) value(n *yaml.Node, depth int) {
	if c.failed {
		return
	}
	if depth > 200 || len(c.buf) > c.limit {
		c.failed = true
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			c.buf = append(c.buf, "null"...)
			return
		}
		c.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			c.buf = append(c.buf, "null"...)
			return
		}
		c.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		c.buf = append(c.buf, '[')
		for i, e := range n.Content {
			if i > 0 {
				c.buf = append(c.buf, ',')
			}
			c.path = append(c.path, "["+strconv.Itoa(i)+"]")
			c.value(e, depth+1)
			c.path = c.path[:len(c.path)-1]
		}
		c.buf = append(c.buf, ']')
	case yaml.MappingNode:
		c.mapping(n, depth)
	case yaml.ScalarNode:
		c.scalar(n)
	default:
		c.buf = append(c.buf, "null"...)
	}
}

type kv struct{ k, v *yaml.Node }

// pairs lists a mapping's entries with merge keys expanded: explicit keys
// win over merged ones, earlier merged mappings over later ones.
func pairs(n *yaml.Node, depth int) (own, merged []kv) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" && depth < 50 {
			for v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, s := range srcs {
				for s.Kind == yaml.AliasNode && s.Alias != nil {
					s = s.Alias
				}
				if s.Kind == yaml.MappingNode {
					o, m := pairs(s, depth+1)
					merged = append(merged, o...)
					merged = append(merged, m...)
				}
			}
			continue
		}
		own = append(own, kv{k, v})
	}
	return own, merged
}

func keyString(k *yaml.Node) string {
	for k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind == yaml.ScalarNode {
		if k.Tag == "!!null" {
			return "null"
		}
		return k.Value
	}
	return ""
}

func (c *jsonConv) mapping(n *yaml.Node, depth int) {
	own, merged := pairs(n, 0)
	seen := make(map[string]bool, len(own))
	c.buf = append(c.buf, '{')
	first := true
	emit := func(p kv) {
		key := keyString(p.k)
		if !first {
			c.buf = append(c.buf, ',')
		}
		first = false
		c.buf = appendJSONString(c.buf, key)
		c.buf = append(c.buf, ':')
		c.path = append(c.path, key)
		c.value(p.v, depth+1)
		c.path = c.path[:len(c.path)-1]
	}
	for _, p := range own {
		key := keyString(p.k)
		if seen[key] {
			c.dups = append(c.dups, duplicateKey{path: joinPath(append(c.path, key)), line: p.k.Line, col: p.k.Column})
			continue
		}
		seen[key] = true
		emit(p)
	}
	for _, p := range merged {
		key := keyString(p.k)
		if !seen[key] {
			seen[key] = true
			emit(p)
		}
	}
	c.buf = append(c.buf, '}')
}

func joinPath(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// yaml11Bool maps the YAML 1.1 boolean words kubectl's YAML reader accepts.
var yaml11Bool = map[string]string{
	"y": "true", "Y": "true", "yes": "true", "Yes": "true", "YES": "true", "on": "true", "On": "true", "ON": "true",
	"true": "true", "True": "true", "TRUE": "true",
	"n": "false", "N": "false", "no": "false", "No": "false", "NO": "false", "off": "false", "Off": "false", "OFF": "false",
	"false": "false", "False": "false", "FALSE": "false",
}

func (c *jsonConv) scalar(n *yaml.Node) {
	plain := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
	switch n.ShortTag() {
	case "!!null":
		c.buf = append(c.buf, "null"...)
		return
	case "!!bool":
		if b, ok := yaml11Bool[n.Value]; ok {
			c.buf = append(c.buf, b...)
			return
		}
	case "!!int":
		v := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(v, 0, 64); err == nil {
			c.buf = strconv.AppendInt(c.buf, i, 10)
			return
		}
		if u, err := strconv.ParseUint(v, 0, 64); err == nil {
			c.buf = strconv.AppendUint(c.buf, u, 10)
			return
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) {
			c.buf = strconv.AppendFloat(c.buf, f, 'g', -1, 64)
			return
		}
	case "!!float":
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			c.buf = strconv.AppendFloat(c.buf, f, 'g', -1, 64)
			return
		}
	case "!!str":
		if plain {
			if b, ok := yaml11Bool[n.Value]; ok {
				c.buf = append(c.buf, b...)
				return
			}
		}
	}
	c.buf = appendJSONString(c.buf, n.Value)
}

// appendJSONString appends s (valid UTF-8) as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' || ch == '\\':
			b = append(b, '\\', ch)
		case ch == '\n':
			b = append(b, '\\', 'n')
		case ch == '\r':
			b = append(b, '\\', 'r')
		case ch == '\t':
			b = append(b, '\\', 't')
		case ch < 0x20 || ch == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&0xf])
		default:
			b = append(b, ch)
		}
	}
	return append(b, '"')
}
