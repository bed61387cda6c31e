package kube

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// watchEvent is one line of `kubectl get -w -o json --output-watch-events`.
type watchEvent[T any] struct {
	Type   string `json:"type"`
	Object T      `json:"object"`
}

// readWatch decodes a recorded watch stream (testdata/*-watch-*.json,
// captured from the test cluster of scripts/kube).
func readWatch[T any](t *testing.T, path string) []watchEvent[T] {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	var out []watchEvent[T]
	for {
		var ev watchEvent[T]
		if err := dec.Decode(&ev); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, ev)
	}
}

// at is a fixed observation clock for replays: event i is observed at second i.
func at(i int) time.Time { return time.Date(2026, 12, 1, 9, 0, i, 0, time.UTC) }
