package systemd

import (
	"os"
	"strconv"
	"testing"
)

func TestParseListenFDs(t *testing.T) {
	me := os.Getpid()
	env := func(kv map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
	}
	for _, c := range []struct {
		name  string
		env   map[string]string
		names []string
		bad   bool
	}{
		{"absent", nil, nil, false},
		{"another process", map[string]string{"LISTEN_PID": "1", "LISTEN_FDS": "2"}, nil, false},
		{"unnamed", map[string]string{"LISTEN_PID": strconv.Itoa(me), "LISTEN_FDS": "2"}, []string{"unknown", "unknown"}, false},
		{"named", map[string]string{"LISTEN_PID": strconv.Itoa(me), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "http:admin"}, []string{"http", "admin"}, false},
		{"bad pid", map[string]string{"LISTEN_PID": "x", "LISTEN_FDS": "1"}, nil, true},
		{"bad count", map[string]string{"LISTEN_PID": strconv.Itoa(me), "LISTEN_FDS": "-1"}, nil, true},
	} {
		s, err := parseListenFDs(env(c.env), me)
		if (err != nil) != c.bad {
			t.Errorf("%s: err %v", c.name, err)
			continue
		}
		if got := s.Names(); len(got) != len(c.names) || (len(got) > 0 && got[0] != c.names[0]) || (len(got) > 1 && got[1] != c.names[1]) {
			t.Errorf("%s: names %q, want %q", c.name, got, c.names)
		}
		// The descriptors are not ours in this test: forget them unclosed.
		s.files = nil
	}
}
