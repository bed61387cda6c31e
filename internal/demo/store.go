package demo

import (
	"context"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/metadata"
)

// RequestIDHeader is the header carrying a request's unique id (the
// drill sets it on every request; x-request-id metadata for gRPC).
const RequestIDHeader = "X-Request-Id"

// Store commits the demo's writes.
type Store struct {
	rdb       *redis.Client
	key       string
	ledgerKey string
	fault     Fault
	n         atomic.Int64
}

// NewStore returns a store incrementing key and, when ledgerKey is not
// empty, recording each request id in the hash ledgerKey.
func NewStore(rdb *redis.Client, key, ledgerKey string) *Store {
	return &Store{rdb: rdb, key: key, ledgerKey: ledgerKey}
}

func (c Config) store(rdb *redis.Client) *Store {
	s := NewStore(rdb, c.Key, c.LedgerKey)
	s.fault = c.Fault
	return s
}

// Commit is the write: INCR of the counter and, with a ledger, HINCRBY of
// the request id in the same MULTI/EXEC, so the id is committed exactly
// when the write is (the ledger contract of docs/drill.md).
func (s *Store) Commit(ctx context.Context, id string) error {
	times := 1
	if s.fault == FaultDropDup {
		// The deliberate bug: the 3rd write of each process is dropped,
		// the 5th committed twice; the counter's net count hides both.
		switch s.n.Add(1) {
		case 3:
			times = 0
		case 5:
			times = 2
		}
	}
	for range times {
		if s.ledgerKey == "" || id == "" {
			if err := s.rdb.Incr(ctx, s.key).Err(); err != nil {
				return err
			}
			continue
		}
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, s.key)
			p.HIncrBy(ctx, s.ledgerKey, id, 1)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func grpcRequestID(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-request-id"); len(v) > 0 {
		return v[0]
	}
	return ""
}
