// Package idempotency is the server's half of a crash-safe write, for the
// drill's crash-safe demo variant (issue 13, item 3): a Redis counter whose
// increments are applied at most once per Idempotency-Key and are in Redis
// before the caller acknowledges them.
//
// One Lua script per request does the whole write atomically inside Redis:
// look the key up; if it is known, return the value its first application
// produced (a replay); otherwise INCR the counter, remember the key with
// that value (with a TTL) and add it to the ledger set of applied keys. A
// MULTI/EXEC transaction could not do this: queued commands cannot depend
// on each other's results, so the INCR would run for a known key too.
//
// Every crash point of the service then has one outcome: killed before the
// script ran, the client's retry applies the write; killed after it, before
// the 200, the client sees the connection lost before any response byte,
// retries with the same key and gets the first answer; killed while the
// command was half sent, Redis never ran it and the retry applies it.
//
// Durable here means "in Redis": the drill kills replicas, not Redis.
// Surviving the loss of the Redis host needs appendonly yes + appendfsync
// always (see docs/retries.md, honest limits). Keys of one request (counter,
// remembered key, ledger) are separate Redis keys: on Redis Cluster they
// would need a common hash tag.
package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultTTL is how long a key is remembered: far longer than any client
// retries (retry.DefaultMaxElapsed is 10s), as payment APIs do (24 h).
const DefaultTTL = 24 * time.Hour

// MaxKeyLen bounds a key's length (the draft sets no limit; Redis keys
// built from client input should have one).
const MaxKeyLen = 256

// ErrBadKey is returned for an empty key or one longer than MaxKeyLen.
var ErrBadKey = errors.New("idempotency: key empty or longer than 256 bytes")

// incrOnce: KEYS[1] counter, KEYS[2] remembered key, KEYS[3] ledger set
// or hash (may equal KEYS[2] when there is no ledger: see Counter.Incr);
// ARGV[1] TTL in seconds, ARGV[2] the key, ARGV[3] "1" to add the key to
// the ledger set, "2" to HINCRBY the ledger hash's field ARGV[4] (the
// drill's ledger contract), anything else for no ledger.
var incrOnce = redis.NewScript(`
local first = redis.call('GET', KEYS[2])
if first then return {1, tonumber(first)} end
local v = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], v, 'EX', tonumber(ARGV[1]))
if ARGV[3] == '1' then redis.call('SADD', KEYS[3], ARGV[2]) end
if ARGV[3] == '2' then redis.call('HINCRBY', KEYS[3], ARGV[4], 1) end
return {0, v}
`)

// Counter is a Redis counter incremented at most once per key.
type Counter struct {
	rdb        redis.Scripter
	key        string
	ledger     string
	ledgerHash string
	ttlSecs    int64
}

// Options configure a Counter.
type Options struct {
	// Key is the counter's Redis key (the demo's is "counter").
	Key string
	// Ledger, if set, is a Redis set to which every applied key is added,
	// so that a check can compare per key what was acknowledged with what
	// was applied (the set grows by one member per applied key).
	Ledger string
	// TTL is how long a key is remembered. Zero means DefaultTTL.
	TTL time.Duration
	// LedgerHash, if set, is a Redis hash in which IncrFor commits the
	// request id given to it (HINCRBY hash id 1), in the same script as
	// the increment and only when the increment is applied: the drill's
	// per-request ledger (docs/drill.md "The ledger"), which shows a write
	// applied twice as a count of 2.
	LedgerHash string
}

// New returns a Counter on rdb (a *redis.Client, say).
func New(rdb redis.Scripter, o Options) *Counter {
	ttl := o.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Counter{rdb: rdb, key: o.Key, ledger: o.Ledger, ledgerHash: o.LedgerHash, ttlSecs: max(int64(ttl/time.Second), 1)}
}

// RememberedKey is the Redis key under which key's first answer is stored.
func (c *Counter) RememberedKey(key string) string { return c.key + ":idem:" + key }

// Incr increments the counter once for key and returns the counter's value
// after that increment. A later call with the same key (a retry) does not
// increment again: it returns the first call's value and replayed true.
// When Incr returns an error the increment may or may not have been
// applied; calling it again with the same key settles it.
func (c *Counter) Incr(ctx context.Context, key string) (value int64, replayed bool, err error) {
	if key == "" || len(key) > MaxKeyLen {
		return 0, false, ErrBadKey
	}
	ledger, add := c.ledger, "1"
	if ledger == "" {
		ledger, add = c.RememberedKey(key), "0" // unused: the script needs a name
	}
	return c.run(ctx, key, ledger, add, "")
}

// IncrFor is Incr that, with Options.LedgerHash set, also commits id in
// that hash when (and only when) this call applies the increment.
// Without LedgerHash it is Incr.
func (c *Counter) IncrFor(ctx context.Context, key, id string) (value int64, replayed bool, err error) {
	if c.ledgerHash == "" || id == "" {
		return c.Incr(ctx, key)
	}
	if key == "" || len(key) > MaxKeyLen {
		return 0, false, ErrBadKey
	}
	return c.run(ctx, key, c.ledgerHash, "2", id)
}

func (c *Counter) run(ctx context.Context, key, ledger, add, id string) (value int64, replayed bool, err error) {
	res, err := incrOnce.Run(ctx, c.rdb, []string{c.key, c.RememberedKey(key), ledger}, c.ttlSecs, key, add, id).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("idempotency: %w", err)
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("idempotency: unexpected script result %v", res)
	}
	return res[1], res[0] == 1, nil
}

var incrPlain = redis.NewScript(`return redis.call('INCR', KEYS[1])`)

// IncrPlain increments the counter without a key: in Redis before it
// returns, but not deduplicated (a retried request applies twice).
func (c *Counter) IncrPlain(ctx context.Context) (int64, error) {
	v, err := incrPlain.Run(ctx, c.rdb, []string{c.key}).Int64()
	if err != nil {
		return 0, fmt.Errorf("idempotency: %w", err)
	}
	return v, nil
}
