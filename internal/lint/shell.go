package lint

import "strings"

// shellCommand is one command of a shell script, split at the top level
// (outside quotes, $(...), `...` and ${...}).
type shellCommand struct {
	text string
	// piped: part of a pipeline (cmd | cmd); background: ended by &.
	piped, background bool
}

// shellCommands splits a shell script into its top-level commands at ;,
// newlines, &&, ||, & and |, joining backslash-newline continuations and
// dropping comments. It is good enough to find a script's last command
// and whether it is exec'd, not a shell parser.
func shellCommands(script string) []shellCommand {
	script = strings.ReplaceAll(script, "\\\r\n", " ")
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out []shellCommand
	var cur strings.Builder
	piped := false
	flush := func(background bool) {
		if t := strings.TrimSpace(cur.String()); t != "" {
			out = append(out, shellCommand{text: t, piped: piped, background: background})
		}
		cur.Reset()
		piped = false
	}
	// stack holds the open quotes and substitutions: ' " ( { `
	var stack []byte
	top := func() byte {
		if len(stack) == 0 {
			return 0
		}
		return stack[len(stack)-1]
	}
	for i := 0; i < len(script); i++ {
		ch := script[i]
		next := byte(0)
		if i+1 < len(script) {
			next = script[i+1]
		}
		ctx := top()
		if ctx == '\'' {
			if ch == '\'' {
				stack = stack[:len(stack)-1]
			}
			cur.WriteByte(ch)
			continue
		}
		switch {
		case ch == '\\' && next != 0:
			cur.WriteByte(ch)
			i++
			ch = next
		case ch == '$' && (next == '(' || next == '{'):
			stack = append(stack, next)
			cur.WriteByte(ch)
			i++
			ch = next
		case ch == '`' && ctx == '`':
			stack = stack[:len(stack)-1]
		case ch == '`':
			stack = append(stack, '`')
		case ctx == '"' && ch == '"':
			stack = stack[:len(stack)-1]
		case ctx == '"':
		case ch == '\'' || ch == '"':
			stack = append(stack, ch)
		case ctx == '(' && ch == '(':
			stack = append(stack, '(')
		case ctx == '(' && ch == ')', ctx == '{' && ch == '}':
			stack = stack[:len(stack)-1]
		case ctx != 0:
		case ch == '#' && (cur.Len() == 0 || isSpace(lastByte(cur.String()))):
			for i < len(script) && script[i] != '\n' {
				i++
			}
			flush(false)
			continue
		case ch == ';' || ch == '\n':
			if ch == ';' && next == ';' {
				i++ // ;; in case
			}
			flush(false)
			continue
		case ch == '&' && next == '&', ch == '|' && next == '|':
			i++
			flush(false)
			continue
		case ch == '&' && (i == 0 || script[i-1] != '>') && next != '>':
			flush(true)
			continue
		case ch == '|':
			piped = true
			flush(false)
			piped = true
			continue
		}
		cur.WriteByte(ch)
	}
	flush(false)
	// A pipeline's last command was flushed with piped set by the '|' before it.
	return out
}

func lastByte(s string) byte {
	if s == "" {
		return ' '
	}
	return s[len(s)-1]
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' }

// firstWord returns a command's first word.
func firstWord(cmd string) string {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// splitScript returns the texts of shellCommands(s).
func splitScript(s string) []string {
	var out []string
	for _, c := range shellCommands(s) {
		out = append(out, c.text)
	}
	return out
}
