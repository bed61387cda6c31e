// Package ledger reads which request ids a service committed, so that the
// drill can reconcile them with what the clients were told, request by
// request.
//
// The contract a service implements (docs/drill.md "The ledger"): with
// every write it acknowledges, it commits the request's id (the
// X-Request-Id header, or x-request-id gRPC metadata) in the same
// transaction as the write, in one of two forms:
//
//   - a Redis hash: HINCRBY <key> <id> 1 inside the MULTI/EXEC that holds
//     the write; the drill reads it with HGETALL (--ledger redis:<key>);
//   - an HTTP endpoint, outside the replicas the drill stops, that lists
//     committed ids, one per line, an id repeated once per commit, or
//     "<id> <count>" (--ledger http://host:port/path).
package ledger

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reader reads the committed ids.
type Reader interface {
	// Source names where the ids are read, for reports.
	Source() string
	// Read returns how many times each id was committed.
	Read(ctx context.Context) (map[string]int64, error)
}

// Spec is a parsed --ledger value.
type Spec struct {
	// Kind is "redis" (a hash) or "http".
	Kind string
	// Key is the Redis hash key; URL the HTTP endpoint.
	Key, URL string
}

// Parse parses "redis:KEY" or "http://host:port/path".
func Parse(s string) (Spec, error) {
	switch {
	case strings.HasPrefix(s, "redis:") && len(s) > len("redis:"):
		return Spec{Kind: "redis", Key: strings.TrimPrefix(s, "redis:")}, nil
	case strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://"):
		return Spec{Kind: "http", URL: s}, nil
	}
	return Spec{}, fmt.Errorf("invalid ledger %q: want redis:KEY (a Redis hash of request id -> commits) or http://host:port/path (committed ids, one per line)", s)
}

// RedisHash reads a Redis hash of request id -> commit count.
type RedisHash struct {
	Client *redis.Client
	Key    string
	Addr   string
}

// Source implements Reader.
func (r *RedisHash) Source() string { return fmt.Sprintf("Redis hash %q at %s", r.Key, r.Addr) }

// Read implements Reader.
func (r *RedisHash) Read(ctx context.Context) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := r.Client.HGetAll(ctx, r.Key).Result()
	if err != nil {
		return nil, fmt.Errorf("read the ledger %s: %w", r.Source(), err)
	}
	out := make(map[string]int64, len(m))
	for id, v := range m {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("ledger %s: field %q holds %q, not a count", r.Source(), id, v)
		}
		out[id] = n
	}
	return out, nil
}

// HTTP reads committed ids from an HTTP endpoint.
type HTTP struct {
	URL    string
	Client *http.Client
}

// Source implements Reader.
func (h *HTTP) Source() string { return h.URL }

// Read implements Reader.
func (h *HTTP) Read(ctx context.Context) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return nil, err
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read the ledger %s: %w", h.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read the ledger %s: HTTP %d", h.URL, resp.StatusCode)
	}
	return ParseLines(bufio.NewScanner(resp.Body))
}

// ParseLines reads "id" or "id count" lines.
func ParseLines(sc *bufio.Scanner) (map[string]int64, error) {
	out := map[string]int64{}
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch len(f) {
		case 0:
		case 1:
			out[f[0]]++
		case 2:
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("ledger line %q: want \"id\" or \"id count\"", sc.Text())
			}
			out[f[0]] += n
		default:
			return nil, fmt.Errorf("ledger line %q: want \"id\" or \"id count\"", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ErrUnstable is returned by Settle when the ledger kept changing.
var ErrUnstable = errors.New("the ledger kept changing")

// Settle reads the ledger until it has stayed unchanged for quiet (it
// never stops early because the numbers look right: duplicates may land
// late), or until limit has passed. filter keeps the ids of this run.
func Settle(ctx context.Context, r Reader, quiet, limit time.Duration, filter func(id string) bool) (ids map[string]int64, reads int, stable time.Duration, err error) {
	start := time.Now()
	var last map[string]int64
	var since time.Time
	for {
		m, err := r.Read(ctx)
		if err != nil {
			return nil, reads, 0, err
		}
		reads++
		for id := range m {
			if filter != nil && !filter(id) {
				delete(m, id)
			}
		}
		if last == nil || !equal(last, m) {
			last, since = m, time.Now()
		}
		if time.Since(since) >= quiet {
			return last, reads, time.Since(since), nil
		}
		if time.Since(start) >= limit {
			return last, reads, time.Since(since), ErrUnstable
		}
		t := time.NewTimer(min(250*time.Millisecond, quiet/4+time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, reads, 0, ctx.Err()
		case <-t.C:
		}
	}
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
