package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"99999999999999999999", maxRetryAfterSeconds * time.Second, true},
		{"Tue, 01 Dec 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Tuesday, 01-Dec-26 10:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Tue Dec  1 10:00:30 2026", 30 * time.Second, true},        // asctime
		{"Tue, 01 Dec 2026 09:00:00 GMT", 0, true},                  // past
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"1s", 0, false},
		{"soon", 0, false},
	} {
		got, ok := parseRetryAfter(tc.v, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffFullJitter(t *testing.T) {
	tr := New(nil, Options{BaseBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	for attempt, ceil := range map[int]time.Duration{1: 10, 2: 20, 3: 40, 4: 50, 80: 50} {
		ceil *= time.Millisecond
		var hi time.Duration
		for range 2000 {
			d := tr.backoff(attempt)
			if d < 0 || d >= ceil {
				t.Fatalf("backoff(%d) = %v, want in [0, %v)", attempt, d, ceil)
			}
			hi = max(hi, d)
		}
		if hi < ceil*9/10 { // 2000 uniform draws: the max is below 90% with probability 0.9^2000
			t.Errorf("backoff(%d): max of 2000 draws %v, want near %v (full jitter)", attempt, hi, ceil)
		}
	}
}

func TestClassify(t *testing.T) {
	opErr := func(op string, err error) error {
		return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, err)}
	}
	for _, tc := range []struct {
		err  error
		want Reason
	}{
		{opErr("read", syscall.ECONNRESET), ReasonConnectionLost},
		{opErr("write", syscall.EPIPE), ReasonConnectionLost},
		{io.EOF, ReasonConnectionLost},
		{fmt.Errorf("wrapped: %w", io.ErrUnexpectedEOF), ReasonConnectionLost},
		{errors.New("http: server closed idle connection"), ReasonConnectionLost},
		{errors.New(`http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug=""`), ReasonConnectionLost},
		{opErr("dial", syscall.ECONNREFUSED), ReasonUnprocessed},
		{opErr("dial", syscall.ECONNRESET), ReasonUnprocessed},
		{errors.New("http2: Transport received GOAWAY from server ErrCode:ENHANCE_YOUR_CALM"), ReasonUnprocessed},
		{errors.New("http2: Transport received Server's graceful shutdown GOAWAY"), ReasonUnprocessed},
		{opErr("dial", syscall.ETIMEDOUT), ReasonUnprocessed}, // the kernel's SYN retries ran out
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}}, ReasonNone},
		{&net.DNSError{Err: "no such host", Name: "x"}, ReasonNone},
		{context.Canceled, ReasonNone},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), ReasonNone},
		{errors.New("tls: failed to verify certificate"), ReasonNone},
		{opErr("read", syscall.ETIMEDOUT), ReasonNone},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
