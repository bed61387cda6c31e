package retry_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/lameduck-dev/lameduck/retry"
)

// A replica that is stopping answers 503 + Retry-After (lameduck sends
// "Retry-After: 1"); the Transport waits and sends the request again,
// here to the same server, which has recovered.
func Example() {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "hello")
	}))
	defer srv.Close()

	rt := retry.New(http.DefaultTransport, retry.Options{
		Observer: func(ev retry.Event) {
			fmt.Printf("attempt %d failed: %v (%d), giving up: %v\n", ev.Attempt, ev.Reason, ev.StatusCode, ev.GiveUp)
		},
	})
	client := &http.Client{Transport: rt}
	defer client.CloseIdleConnections()

	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.Status, " ", string(body))
	// Output:
	// attempt 1 failed: retry_after (503), giving up: <nil>
	// 200 OK hello
}

// A POST is retried only with an idempotency key, set once: every attempt
// carries the same key, so a server that deduplicates by it applies the
// write once however many attempts reach it.
func ExampleNewKey() {
	client := &http.Client{Transport: retry.New(nil, retry.Options{})}
	req, err := http.NewRequest("POST", "http://orders.internal/orders", strings.NewReader(`{"item":42}`))
	if err != nil {
		panic(err)
	}
	req.Header.Set(retry.HeaderKey, retry.NewKey()) // e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324", quotes included
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
	}
}

// The Observer feeds metrics: count retries and give-ups by reason.
func ExampleOptions_observer() {
	var retries, gaveUp atomic.Int64
	_ = retry.New(nil, retry.Options{
		MaxAttempts: 3,
		Observer: func(ev retry.Event) {
			if ev.GiveUp != nil {
				gaveUp.Add(1) // e.g. a counter labelled ev.Reason.String() and the GiveUp error
				return
			}
			retries.Add(1)
		},
	})
}
