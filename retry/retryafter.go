package retry

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfterSeconds keeps a huge delay-seconds from overflowing a
// time.Duration; anything above it is far above any MaxRetryAfter.
const maxRetryAfterSeconds = 1 << 31

// parseRetryAfter parses a Retry-After value (RFC 9110 §10.2.3): either
// delay-seconds or an HTTP-date, taken relative to now (a date in the past
// means no wait). It reports false for an absent or invalid value.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0, false
			}
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > maxRetryAfterSeconds {
			n = maxRetryAfterSeconds // all digits: only overflow fails
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
