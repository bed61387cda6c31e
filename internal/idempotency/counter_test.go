package idempotency_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/idempotency"
	"github.com/lameduck-dev/lameduck/internal/redistest"
	"github.com/lameduck-dev/lameduck/retry"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newRedis starts a real redis-server and returns a client to it.
func newRedis(t *testing.T) (*redistest.Server, *redis.Client) {
	s := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return s, rdb
}

func counterValue(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	v, err := rdb.Get(context.Background(), "counter").Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	return v
}

func ledger(t *testing.T, rdb *redis.Client) []string {
	t.Helper()
	m, err := rdb.SMembers(context.Background(), "applied").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func TestIncrOnce(t *testing.T) {
	_, rdb := newRedis(t)
	c := idempotency.New(rdb, idempotency.Options{Key: "counter", Ledger: "applied", TTL: time.Hour})
	ctx := t.Context()
	for i, want := range []struct {
		key      string
		value    int64
		replayed bool
	}{{"a", 1, false}, {"a", 1, true}, {"b", 2, false}, {"a", 1, true}, {"b", 2, true}} {
		v, replayed, err := c.Incr(ctx, want.key)
		if err != nil || v != want.value || replayed != want.replayed {
			t.Errorf("call %d Incr(%q) = %d, %v, %v; want %d, %v", i, want.key, v, replayed, err, want.value, want.replayed)
		}
	}
	if v := counterValue(t, rdb); v != 2 {
		t.Errorf("counter %d, want 2", v)
	}
	if l := ledger(t, rdb); !slices.Equal(l, []string{"a", "b"}) {
		t.Errorf("ledger %v, want [a b]", l)
	}
	if ttl := rdb.TTL(ctx, c.RememberedKey("a")).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("remembered key TTL %v, want in (0, 1h]", ttl)
	}
	if v, err := c.IncrPlain(ctx); err != nil || v != 3 {
		t.Errorf("IncrPlain = %d, %v; want 3", v, err)
	}
	for _, bad := range []string{"", strings.Repeat("k", idempotency.MaxKeyLen+1)} {
		if _, _, err := c.Incr(ctx, bad); !errors.Is(err, idempotency.ErrBadKey) {
			t.Errorf("Incr(%d bytes) = %v, want ErrBadKey", len(bad), err)
		}
	}
}

// Concurrent attempts with one key (a client that retried while the first
// attempt was still being processed) apply it once and all get its value.
func TestIncrOnceConcurrent(t *testing.T) {
	_, rdb := newRedis(t)
	c := idempotency.New(rdb, idempotency.Options{Key: "counter"})
	var wg sync.WaitGroup
	var applied atomic.Int32
	values := make(chan int64, 32)
	for range 32 {
		wg.Go(func() {
			v, replayed, err := c.Incr(t.Context(), "same")
			if err != nil {
				t.Error(err)
				return
			}
			if !replayed {
				applied.Add(1)
			}
			values <- v
		})
	}
	wg.Wait()
	close(values)
	for v := range values {
		if v != 1 {
			t.Errorf("an attempt got %d, want 1", v)
		}
	}
	if n := applied.Load(); n != 1 {
		t.Errorf("%d attempts applied the key, want 1", n)
	}
	if v := counterValue(t, rdb); v != 1 {
		t.Errorf("counter %d, want 1", v)
	}
}

// crashAfterWrite serves h, but on its first request it lets h apply the
// write (in Redis) and then resets the connection instead of answering: a
// replica killed between the durable write and the 200.
func crashAfterWrite(t *testing.T, h http.Handler) http.Handler {
	var first atomic.Bool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first.Swap(true) {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_ = conn.(*net.TCPConn).SetLinger(0)
		_ = conn.Close()
	})
}

// stripKey makes h ignore the key: a server that does not deduplicate.
func stripKey(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del(idempotency.HeaderKey)
		h.ServeHTTP(w, r)
	})
}

func TestCrashAfterWrite(t *testing.T) {
	for _, tc := range []struct {
		name         string
		key          bool
		dedupe       bool
		wantOK       bool  // the client got a 200
		wantReplayed bool  // …replaying the first answer
		wantCounter  int64 // increments applied
	}{
		{"key and dedupe: applied once, acknowledged", true, true, true, true, 1},
		{"no key: not retried, applied but failed for the client", false, true, false, false, 1},
		{"key ignored by the server: retried and applied twice", true, false, true, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rdb := newRedis(t)
			h := idempotency.Handler(idempotency.New(rdb, idempotency.Options{Key: "counter", Ledger: "applied"}))
			if !tc.dedupe {
				h = stripKey(h)
			}
			srv := httptest.NewServer(crashAfterWrite(t, h))
			defer srv.Close()
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			rt := retry.New(base, retry.Options{BaseBackoff: time.Millisecond})
			req, _ := http.NewRequest("POST", srv.URL+"/incr", nil)
			key := retry.NewKey()
			if tc.key {
				req.Header.Set(retry.HeaderKey, key)
			}
			resp, err := rt.RoundTrip(req)
			if tc.wantOK {
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || (resp.Header.Get(idempotency.HeaderReplayed) == "true") != tc.wantReplayed {
					t.Errorf("got %d %q replayed=%q, want 200 replayed=%v", resp.StatusCode, body, resp.Header.Get(idempotency.HeaderReplayed), tc.wantReplayed)
				}
				if tc.wantReplayed && strings.TrimSpace(string(body)) != "1" {
					t.Errorf("replayed answer %q, want the first one, 1", body)
				}
			} else if err == nil {
				resp.Body.Close()
				t.Fatalf("got %d, want the reset", resp.StatusCode)
			}
			if v := counterValue(t, rdb); v != tc.wantCounter {
				t.Errorf("counter %d, want %d", v, tc.wantCounter)
			}
			if l := ledger(t, rdb); tc.key && tc.dedupe && !slices.Equal(l, []string{key}) {
				t.Errorf("ledger %v, want [%s]", l, key)
			}
		})
	}
}

// Redis is down: 503 + Retry-After, which clients retry with the same key.
func TestStoreDown(t *testing.T) {
	s, rdb := newRedis(t)
	s.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	h := idempotency.Handler(idempotency.New(rdb, idempotency.Options{Key: "counter"}))
	req := httptest.NewRequestWithContext(ctx, "POST", "/incr", nil)
	req.Header.Set(idempotency.HeaderKey, `"k"`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("got %d Retry-After %q, want 503 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestHandlerBadKey(t *testing.T) {
	_, rdb := newRedis(t)
	h := idempotency.Handler(idempotency.New(rdb, idempotency.Options{Key: "counter"}))
	req := httptest.NewRequest("POST", "/incr", nil)
	req.Header[idempotency.HeaderKey] = []string{""}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 400 || counterValue(t, rdb) != 0 {
		t.Errorf("got %d, counter %d; want 400 and nothing applied", rec.Code, counterValue(t, rdb))
	}
}
