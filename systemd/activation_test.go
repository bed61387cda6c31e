package systemd

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
)

// Parsing only: making Sockets here would wrap descriptors 3, 4 … of the
// test process, and their finalizers would close whatever the test uses
// at those numbers.
func TestParseListenFDs(t *testing.T) {
	me := os.Getpid()
	env := func(kv map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
	}
	for _, c := range []struct {
		name  string
		env   map[string]string
		n     int
		names []string
		bad   bool
	}{
		{"absent", nil, 0, nil, false},
		{"another process", map[string]string{"LISTEN_PID": "1", "LISTEN_FDS": "2"}, 0, nil, false},
		{"unnamed", map[string]string{"LISTEN_PID": strconv.Itoa(me), "LISTEN_FDS": "2"}, 2, nil, false},
		{"named", map[string]string{"LISTEN_PID": strconv.Itoa(me), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "http:admin"}, 2, []string{"http", "admin"}, false},
		{"bad pid", map[string]string{"LISTEN_PID": "x", "LISTEN_FDS": "1"}, 0, nil, true},
		{"bad count", map[string]string{"LISTEN_PID": strconv.Itoa(me), "LISTEN_FDS": "-1"}, 0, nil, true},
	} {
		n, names, err := parseListenFDs(env(c.env), me)
		if (err != nil) != c.bad || n != c.n || !slices.Equal(names, c.names) {
			t.Errorf("%s: %d %q %v; want %d %q (error: %v)", c.name, n, names, err, c.n, c.names, c.bad)
		}
	}
}

// Descriptors without a name are "unknown", as systemd names them; each
// is handed out once.
func TestNewSocketsNames(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	// Copies at numbers nothing else uses, owned by the Sockets.
	for i, f := range []*os.File{r, w} {
		if err := syscall.Dup2(int(f.Fd()), 900+i); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSockets(900, 2, []string{"http"})
	defer s.Close()
	if got := s.Names(); !slices.Equal(got, []string{"http", "unknown"}) {
		t.Fatalf("names %q", got)
	}
	if f := s.File("http"); f == nil || f.Fd() != 900 {
		t.Fatalf("File(http) = %v", f)
	} else {
		f.Close()
	}
	if s.File("http") != nil {
		t.Error("handed out twice")
	}
	if _, err := s.Listener("admin"); !errors.Is(err, ErrNoSocket) {
		t.Errorf("Listener(admin) = %v, want ErrNoSocket", err)
	}
}
