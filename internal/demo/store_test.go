package demo

import (
	"context"
	"fmt"
	"testing"

	"github.com/lameduck-dev/lameduck/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestCommitLedger: the write and its request id land together; the
// drop-dup fault drops the 3rd write and commits the 5th twice, in both.
func TestCommitLedger(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := context.Background()
	st := NewStore(rdb, Key, LedgerKey)
	st.fault = FaultDropDup
	for i := 1; i <= 6; i++ {
		if err := st.Commit(ctx, fmt.Sprintf("id-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := rdb.Get(ctx, Key).Int(); err != nil || n != 6 {
		t.Fatalf("counter = %d, %v; want 6 (one dropped, one doubled: the net count hides both)", n, err)
	}
	got, err := rdb.HGetAll(ctx, LedgerKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"id-1": "1", "id-2": "1", "id-4": "1", "id-5": "2", "id-6": "1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ledger = %v, want %v", got, want)
	}
}
