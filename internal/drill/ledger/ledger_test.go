package ledger

import (
	"bufio"
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/redistest"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	for in, want := range map[string]Spec{
		"redis:drill:ledger":     {Kind: "redis", Key: "drill:ledger"},
		"http://127.0.0.1:1/ids": {Kind: "http", URL: "http://127.0.0.1:1/ids"},
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "redis:", "mysql:x", "ids.txt"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestParseLines(t *testing.T) {
	got, err := ParseLines(bufio.NewScanner(strings.NewReader("a\nb 2\n\na\nc 0\n")))
	if err != nil || !maps.Equal(got, map[string]int64{"a": 2, "b": 2, "c": 0}) {
		t.Fatalf("ParseLines = %v, %v", got, err)
	}
	if _, err := ParseLines(bufio.NewScanner(strings.NewReader("a b c\n"))); err == nil {
		t.Fatal("a line of three fields accepted")
	}
}

// script is a Reader whose answers change on given reads.
type script struct {
	mu    sync.Mutex
	reads int
	steps map[int]map[string]int64 // from this read on, answer this
	cur   map[string]int64
}

func (s *script) Source() string { return "script" }
func (s *script) Read(context.Context) (map[string]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if m, ok := s.steps[s.reads]; ok {
		s.cur = m
	}
	return maps.Clone(s.cur), nil
}

// TestSettleSeesLateDuplicates: the ledger looks complete on the first
// read; a duplicate lands later. Settle must not stop at the first read.
func TestSettleSeesLateDuplicates(t *testing.T) {
	r := &script{steps: map[int]map[string]int64{
		1: {"run-1": 1, "run-2": 1, "other-1": 1},
		3: {"run-1": 1, "run-2": 2, "other-1": 1},
	}}
	ids, reads, _, err := Settle(context.Background(), r, 200*time.Millisecond, 10*time.Second,
		func(id string) bool { return strings.HasPrefix(id, "run-") })
	if err != nil || !maps.Equal(ids, map[string]int64{"run-1": 1, "run-2": 2}) || reads < 4 {
		t.Fatalf("Settle = %v after %d reads, %v; want the late duplicate, other runs' ids left out", ids, reads, err)
	}
}

func TestSettleGivesUp(t *testing.T) {
	var n int64
	r := readerFunc(func() map[string]int64 { n++; return map[string]int64{"run-1": n} })
	_, _, _, err := Settle(context.Background(), r, time.Second, 300*time.Millisecond, nil)
	if err != ErrUnstable {
		t.Fatalf("Settle on a ledger that never settles: %v, want ErrUnstable", err)
	}
}

type readerFunc func() map[string]int64

func (f readerFunc) Source() string                                 { return "func" }
func (f readerFunc) Read(context.Context) (map[string]int64, error) { return f(), nil }

// TestRedisHash reads the demo's form of the contract from a real
// redis-server: HINCRBY in a MULTI/EXEC with the write.
func TestRedisHash(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := context.Background()
	for _, id := range []string{"r-1", "r-2", "r-2"} {
		if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, "counter")
			p.HIncrBy(ctx, "ledger", id, 1)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := (&RedisHash{Client: rdb, Key: "ledger", Addr: srv.Addr}).Read(ctx)
	if err != nil || !maps.Equal(got, map[string]int64{"r-1": 1, "r-2": 2}) {
		t.Fatalf("Read = %v, %v", got, err)
	}
	rdb.HSet(ctx, "ledger", "r-3", "x")
	if _, err := (&RedisHash{Client: rdb, Key: "ledger", Addr: srv.Addr}).Read(ctx); err == nil {
		t.Fatal("a non-numeric count accepted")
	}
}

func TestHTTP(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("r-1\nr-2\nr-2\nr-3 3\n"))
	}))
	defer ts.Close()
	got, err := (&HTTP{URL: ts.URL}).Read(context.Background())
	if err != nil || !maps.Equal(got, map[string]int64{"r-1": 1, "r-2": 2, "r-3": 3}) {
		t.Fatalf("Read = %v, %v", got, err)
	}
}
