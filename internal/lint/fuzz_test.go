package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzRead feeds arbitrary bytes to the manifest reader and the rules:
// they must never panic (the reader's own recover is bypassed) nor hang.
// CI runs it briefly (a short minimize time keeps a loaded machine fuzzing
// instead of minimizing):
//
//	go test ./internal/lint -run '^$' -fuzz '^FuzzRead$' -fuzztime 20s -fuzzminimizetime 2s
func FuzzRead(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/rules/*.yaml")
	for _, p := range append(seeds, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- &a {apiVersion: v1, kind: Service, metadata: {name: *a}}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("--- |\n  text\n---\n- 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a bug too: crash the worker so the input is saved.
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("FuzzRead: no result after 10s for %q", data)) })
		defer watchdog.Stop()
		in := readBytes("fuzz.yaml", data, false, false)
		for _, e := range in.Errors {
			if e.File != "fuzz.yaml" || e.Msg == "" {
				t.Fatalf("malformed error %+v", e)
			}
		}
		r, err := Check(in, Config{})
		if err != nil {
			t.Fatal(err)
		}
		_ = WriteJSON(discardWriter{}, r)
		_ = WriteText(discardWriter{}, r, TextOptions{})
	})
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
