package stream_test

import (
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkShutdownStreams measures a SIGTERM-started shutdown of a service
// (its own process) holding 250 WebSockets and 250 event streams: how long
// until every client has its close frame or final event, and until the
// process has exited. Drain delay 300ms (see childBudget), included.
//
//	go test -run '^$' -bench ShutdownStreams -benchtime 3x ./stream
func BenchmarkShutdownStreams(b *testing.B) {
	const n = 250
	var lastClose, exit time.Duration
	for range b.N {
		b.StopTimer()
		c := startChild(b)
		wss := make([]<-chan wsResult, n)
		sses := make([]<-chan sseResult, n)
		for i := range n {
			wss[i] = openWS(b, c.addr, "/ws")
			sses[i] = openSSE(b, c.addr)
		}
		waitInFlight(b, c.addr, 2*n)
		b.StartTimer()
		sent := c.term()
		var last time.Time
		for i := range n {
			w := recv(b, "websocket", wss[i])
			if w.status != websocket.StatusGoingAway {
				b.Fatalf("websocket %d: status %d %v", i, w.status, w.err)
			}
			last = maxTime(last, w.at)
			s := recv(b, "sse", sses[i])
			if len(s.events) == 0 || s.events[len(s.events)-1] != "bye" {
				b.Fatalf("sse %d: %v %v", i, s.events, s.err)
			}
		}
		code, took := c.wait(sent, 2*grace)
		b.StopTimer()
		if code != 0 {
			b.Fatalf("exit %d: %v", code, c.stillRunning())
		}
		lastClose += last.Sub(sent)
		exit += took
	}
	b.ReportMetric(float64(lastClose.Milliseconds())/float64(b.N), "ms-last-ws-close")
	b.ReportMetric(float64(exit.Milliseconds())/float64(b.N), "ms-exit")
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
