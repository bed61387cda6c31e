package idempotency_test

import (
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/idempotency"
)

// TestIncrForLedgerHash: the request id is committed in the hash once per
// applied increment, never on a replay, and a second key for the same id
// (a client that changed keys between attempts) shows as a count of 2.
func TestIncrForLedgerHash(t *testing.T) {
	_, rdb := newRedis(t)
	c := idempotency.New(rdb, idempotency.Options{Key: "counter", LedgerHash: "drill:ledger", TTL: time.Hour})
	ctx := t.Context()
	steps := []struct {
		key, id  string
		value    int64
		replayed bool
	}{
		{`"k1"`, "run-1", 1, false},
		{`"k1"`, "run-1", 1, true},
		{`"k2"`, "run-2", 2, false},
		{`"k3"`, "run-2", 3, false},
	}
	for i, s := range steps {
		v, replayed, err := c.IncrFor(ctx, s.key, s.id)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if v != s.value || replayed != s.replayed {
			t.Fatalf("step %d: IncrFor(%s, %s) = %d, replayed %v; want %d, %v", i, s.key, s.id, v, replayed, s.value, s.replayed)
		}
	}
	m, err := rdb.HGetAll(ctx, "drill:ledger").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["run-1"] != "1" || m["run-2"] != "2" {
		t.Fatalf("ledger hash = %v, want run-1:1 run-2:2", m)
	}
	if got := counterValue(t, rdb); got != 3 {
		t.Fatalf("counter = %d, want 3", got)
	}
}
