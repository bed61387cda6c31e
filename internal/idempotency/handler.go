package idempotency

import (
	"errors"
	"net/http"
	"strconv"
)

// HeaderKey is the request header carrying the idempotency key (the same
// as retry.HeaderKey).
const HeaderKey = "Idempotency-Key"

// HeaderReplayed is set to "true" on a response that replays the first
// answer for a key instead of applying the write again.
const HeaderReplayed = "Idempotent-Replayed"

// Handler serves POST /incr with c, acknowledging only what is in Redis:
//
//   - with an Idempotency-Key: the increment is applied at most once per
//     key; 200 with the counter's value after this key's increment (the
//     first answer again on a replay, with Idempotent-Replayed: true);
//   - without one: a plain INCR, in Redis before the 200, but a retried
//     request would be applied twice;
//   - 400 for a key that is empty or longer than MaxKeyLen;
//   - 503 + Retry-After: 1 when Redis fails or the request's context ends
//     first: the write may or may not have happened, and a retry with the
//     same key settles it (a 500 would not be retried by clients).
//
// Nothing runs after the answer, so a SIGKILL can cut a request before its
// 200 but never lose one after it.
func Handler(c *Counter) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		var (
			v        int64
			replayed bool
			err      error
		)
		if keys, ok := r.Header[HeaderKey]; ok && len(keys) > 0 {
			v, replayed, err = c.Incr(r.Context(), keys[0])
		} else {
			v, err = c.IncrPlain(r.Context())
		}
		switch {
		case errors.Is(err, ErrBadKey):
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		case err != nil:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "store unavailable, retry with the same Idempotency-Key: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if replayed {
			w.Header().Set(HeaderReplayed, "true")
		}
		_, _ = w.Write([]byte(strconv.FormatInt(v, 10) + "\n"))
	})
	return mux
}
