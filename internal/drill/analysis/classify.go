package analysis

import (
	"math"
	"strings"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// Classify names the failure class of one request ("" when it succeeded).
// An HTTP status decides first: vegeta reports every non-2xx answer with
// an error text (the status line), which must not hide the status code.
func Classify(q *trace.Request, conn *trace.Conn) string {
	if q.Acked() {
		return ""
	}
	if q.GRPCCode == "" && q.Code != 0 {
		if q.Code >= 500 && q.Code < 600 {
			return Class5xx
		}
		return ClassOther
	}
	if q.GRPCCode != "" {
		switch q.GRPCCode {
		case "DeadlineExceeded":
			return ClassTimeout
		case "Unavailable":
			// The transport failed (or the server refused the call): tell
			// refused, reset and EOF apart as for HTTP, below.
		default:
			return ClassOther
		}
	}
	if conn != nil && (conn.Outcome == trace.OutcomeRefused || conn.Outcome == trace.OutcomeNoEndpoint) {
		return ClassRefused
	}
	switch q.Transport {
	case trace.TransportRefused:
		return ClassRefused
	case trace.TransportReset:
		return ClassReset
	}
	msg := strings.ToLower(q.Error)
	switch {
	case strings.Contains(msg, "connection refused"):
		return ClassRefused
	case q.Transport == trace.TransportTimeout || strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded"):
		return ClassTimeout
	case strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe"):
		return ClassReset
	case q.Transport == trace.TransportEOF || strings.Contains(msg, "eof") || strings.Contains(msg, "server closed idle connection"):
		return ClassEOF
	}
	return ClassOther
}

// connIndex finds the balancer connection that carried a request.
type connIndex struct {
	byClient map[string][]*trace.Conn
	orphans  []*trace.Conn // client resets whose address no request saw
	used     map[*trace.Conn]bool
}

func newConnIndex(conns []trace.Conn, reqs []trace.Request) *connIndex {
	ix := &connIndex{byClient: map[string][]*trace.Conn{}, used: map[*trace.Conn]bool{}}
	seen := map[string]bool{}
	for _, q := range reqs {
		if q.Local != "" {
			seen[q.Local] = true
		}
	}
	for i := range conns {
		c := &conns[i]
		ix.byClient[c.Client] = append(ix.byClient[c.Client], c)
		if c.Outcome != trace.OutcomeForwarded && !seen[c.Client] {
			ix.orphans = append(ix.orphans, c)
		}
	}
	return ix
}

// lookup returns the connection that carried q: by the client address when
// the request got a connection, else (the connect itself was reset) the
// nearest unclaimed reset connection in time.
func (ix *connIndex) lookup(q *trace.Request) *trace.Conn {
	end := q.End
	if end == 0 {
		end = math.MaxInt64
	}
	if q.Local != "" {
		var best *trace.Conn
		for _, c := range ix.byClient[q.Local] {
			if c.Accepted <= end {
				best = c // accept order: the latest accepted before the end
			}
		}
		return best
	}
	if !q.DialFail {
		return nil
	}
	const slack = 50 * time.Millisecond
	var best *trace.Conn
	bestD := time.Duration(math.MaxInt64)
	for _, c := range ix.orphans {
		if ix.used[c] {
			continue
		}
		d := c.Accepted - q.Start
		if d < -slack || c.Accepted > end+slack {
			continue
		}
		d = max(d, -d)
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best != nil {
		ix.used[best] = true
	}
	return best
}
