package drill

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// store is the Redis-protocol store the drill verifies against: the
// user's (--redis) or an embedded miniredis hosted in the drill's own
// process, never inside a replica (replicas come and go).
type store struct {
	Addr     string
	Embedded bool
	mini     *miniredis.Miniredis
	rdb      *redis.Client
}

// quietLogger drops go-redis' own log lines (dial retries): the drill
// reports an unreachable store itself, once, with what to do about it.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

var quietOnce sync.Once

func openStore(ctx context.Context, addr string) (*store, error) {
	quietOnce.Do(func() { redis.SetLogger(quietLogger{}) })
	s := &store{Addr: addr}
	if addr == "" {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start the embedded store: %w", err)
		}
		s.mini, s.Addr, s.Embedded = m, m.Addr(), true
	}
	s.rdb = redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 2 * time.Second})
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.rdb.Ping(pctx).Err(); err != nil {
		s.close()
		return nil, fmt.Errorf("store %s unreachable: %w (start Redis there, or leave out --redis to use the embedded store)", s.Addr, err)
	}
	return s, nil
}

// get returns the integer value of key (0 when missing).
func (s *store) get(ctx context.Context, key string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	v, err := s.rdb.Get(ctx, key).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s from %s: %w", key, s.Addr, err)
	}
	return v, nil
}

func (s *store) close() {
	if s.rdb != nil {
		_ = s.rdb.Close()
	}
	if s.mini != nil {
		s.mini.Close()
	}
}
