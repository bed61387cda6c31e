package demo

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestWithPodHeaderNamesTheReplica checks the header on a real connection.
func TestWithPodHeaderNamesTheReplica(t *testing.T) {
	ts := httptest.NewServer(WithPodHeader("counter-abc", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})))
	defer ts.Close()
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get(PodHeader); got != "counter-abc" || resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d, %s %q; want 418 and counter-abc", resp.StatusCode, PodHeader, got)
	}
	t.Setenv("POD_NAME", "from-env")
	if PodName() != "from-env" {
		t.Fatalf("PodName() = %q with POD_NAME=from-env", PodName())
	}
}
