package retry_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/retry"
)

// unavailableFirst answers the first request 503 with the Retry-After
// value retryAfter returns, later ones 200; it records every request and
// when it arrived.
type unavailableFirst struct {
	log
	retryAfter func() string
	mu         sync.Mutex
	at         []time.Time
}

func (h *unavailableFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.at = append(h.at, time.Now())
	first := len(h.at) == 1
	h.mu.Unlock()
	h.add(r)
	if first {
		if v := h.retryAfter(); v != "" {
			w.Header().Set("Retry-After", v)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(strings.Repeat("unavailable ", 100)))
		return
	}
	_, _ = w.Write([]byte("ok"))
}

func (h *unavailableFirst) gap() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.at) < 2 {
		return -1
	}
	return h.at[1].Sub(h.at[0])
}

func TestRetryAfterHonoured(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter func() string
	}{
		{"delay-seconds", func() string { return "1" }},
		// An HTTP-date has a one-second resolution: two seconds ahead is a
		// wait above one second.
		{"HTTP-date", func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &unavailableFirst{retryAfter: tc.retryAfter}
			url := serve(t, h, nil, nil)
			var ev events
			key := retry.NewKey()
			req, _ := http.NewRequest("POST", url, strings.NewReader("b"))
			req.Header.Set(retry.HeaderKey, key)
			code, body, err := do(retry.New(newBase(t, nil), fast(&ev)), req)
			if err != nil || code != 200 || body != "ok" {
				t.Fatalf("got %d %q, %v; want 200 ok", code, body, err)
			}
			// Timers never fire early: the retry cannot arrive sooner than
			// the server asked (a lower bound, not a speed target).
			if g := h.gap(); g < time.Second {
				t.Errorf("the retry arrived %v after the 503, want ≥ 1s", g)
			}
			want := received{"POST", key, "b"}
			if l := h.list(); len(l) != 2 || l[0] != want || l[1] != want {
				t.Errorf("server received %+v, want twice %+v", l, want)
			}
			evs := ev.list()
			if len(evs) != 1 || evs[0].Reason != retry.ReasonRetryAfter || evs[0].StatusCode != 503 ||
				evs[0].RetryAfter < time.Second || evs[0].Wait < evs[0].RetryAfter || evs[0].GiveUp != nil {
				t.Errorf("events %+v, want one retry_after retry waiting ≥ 1s", evs)
			}
		})
	}
}

func TestRetryAfterNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name       string
		method     string
		retryAfter string
		giveUp     error // nil: no event at all
	}{
		{"no Retry-After", "GET", "", nil},
		{"invalid Retry-After", "GET", "soon", nil},
		{"Retry-After above MaxRetryAfter", "GET", "3600", retry.ErrRetryAfterTooLong},
		{"POST without a key", "POST", "0", retry.ErrNotIdempotent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &unavailableFirst{retryAfter: func() string { return tc.retryAfter }}
			url := serve(t, h, nil, nil)
			var ev events
			req, _ := http.NewRequest(tc.method, url, nil)
			code, body, err := do(retry.New(newBase(t, nil), fast(&ev)), req)
			if err != nil || code != 503 || !strings.HasPrefix(body, "unavailable") {
				t.Fatalf("got %d %.20q, %v; want the 503 and its body, unchanged", code, body, err)
			}
			if n := len(h.list()); n != 1 {
				t.Errorf("server received %d requests, want 1", n)
			}
			evs := ev.list()
			switch {
			case tc.giveUp == nil && len(evs) != 0:
				t.Errorf("events %+v, want none", evs)
			case tc.giveUp != nil && (len(evs) != 1 || evs[0].GiveUp != tc.giveUp):
				t.Errorf("events %+v, want one with GiveUp %v", evs, tc.giveUp)
			}
		})
	}
}

// A wait that would end past the request's deadline is not started: the
// 503 is returned at once.
func TestDeadlineBoundsWait(t *testing.T) {
	h := &unavailableFirst{retryAfter: func() string { return "120" }}
	url := serve(t, h, nil, nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var ev events
	o := fast(&ev)
	o.MaxRetryAfter, o.MaxElapsed = time.Hour, time.Hour
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if code, _, err := do(retry.New(newBase(t, nil), o), req); err != nil || code != 503 {
		t.Fatalf("got %d, %v; want the 503", code, err)
	}
	if evs := ev.list(); len(evs) != 1 || !errors.Is(evs[0].GiveUp, retry.ErrBudgetExhausted) {
		t.Errorf("events %+v, want ErrBudgetExhausted", evs)
	}
}

// MaxElapsed bounds the total time the same way.
func TestMaxElapsedBoundsWait(t *testing.T) {
	h := &unavailableFirst{retryAfter: func() string { return "2" }}
	url := serve(t, h, nil, nil)
	var ev events
	o := fast(&ev)
	o.MaxElapsed = time.Second
	req, _ := http.NewRequest("GET", url, nil)
	if code, _, err := do(retry.New(newBase(t, nil), o), req); err != nil || code != 503 {
		t.Fatalf("got %d, %v; want the 503", code, err)
	}
	if evs := ev.list(); len(evs) != 1 || evs[0].GiveUp != retry.ErrBudgetExhausted {
		t.Errorf("events %+v, want ErrBudgetExhausted", evs)
	}
}
