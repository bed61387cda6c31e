package drill

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// DefaultGRPCMethod is the unary method the gRPC load calls by default: the
// demo counter's (grpc's interop TestService, see internal/demo/grpc.go).
const DefaultGRPCMethod = "/grpc.testing.TestService/UnaryCall"

// grpcRetryConfig is the service config of the gRPC load with
// Config.GRPCRetry: retry UNAVAILABLE, as docs/streams.md recommends to
// clients. grpc-go retries only calls that failed with UNAVAILABLE
// (refused by a stopping server, or cut at the transport); an RPC the
// server answered otherwise is never repeated.
const grpcRetryConfig = `{"methodConfig":[{"name":[{}],"retryPolicy":{"maxAttempts":3,` +
	`"initialBackoff":"0.01s","maxBackoff":"0.1s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]}`

// grpcRequestID is the metadata key carrying each RPC's unique id.
const grpcRequestID = "x-request-id"

// grpcConn is one client connection of the gRPC load, with the local
// address of its current transport (for matching RPCs with the balancer's
// connection records).
type grpcConn struct {
	cc *grpc.ClientConn

	mu       sync.Mutex
	local    string    // local address of the last transport dialed
	dialedAt time.Time // when it was dialed
	dialFail bool      // the last dial failed
}

func (c *grpcConn) dial(ctx context.Context, d *net.Dialer, addr string) (net.Conn, error) {
	nc, err := d.DialContext(ctx, "tcp", addr)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.local, c.dialFail = "", true
		return nil, err
	}
	c.local, c.dialedAt, c.dialFail = nc.LocalAddr().String(), time.Now(), false
	return nc, nil
}

func (c *grpcConn) state() (local string, dialedAt time.Time, dialFail bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local, c.dialedAt, c.dialFail
}

// startGRPCLoad starts a constant-rate load of unary RPCs of spec.Path (a
// full method name) on spec.Clients connections to spec.URL (host:port),
// round-robin: each grpc.ClientConn is one HTTP/2 connection at a time,
// which an L4 balancer pins to one replica, as the HTTP load's keep-alive
// clients are. The request is an empty message, which any request type
// decodes (every field unset); the response is decoded as an empty
// message too (its fields are kept as unknown and ignored).
//
// The pacing is vegeta's ConstantPacer, as for the HTTP load, so both
// protocols send on the same schedule (and catch up the same way after a
// stall); vegeta's attacker itself speaks only HTTP/1.1.
func startGRPCLoad(spec loadSpec) (*load, error) {
	workers := max(spec.Workers, 1)
	var conns []*grpcConn
	closeAll := func() {
		for _, c := range conns {
			c.cc.Close()
		}
	}
	for range max(spec.Clients, 1) {
		c := &grpcConn{}
		d := &net.Dialer{Timeout: spec.Timeout, KeepAlive: 30 * time.Second}
		opts := []grpc.DialOption{
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return c.dial(ctx, d, addr) }),
		}
		if spec.GRPCRetry {
			opts = append(opts, grpc.WithDefaultServiceConfig(grpcRetryConfig))
		} else {
			opts = append(opts, grpc.WithDisableRetry())
		}
		cc, err := grpc.NewClient("passthrough:///"+spec.URL, opts...)
		if err != nil {
			closeAll()
			return nil, err
		}
		c.cc = cc
		conns = append(conns, c)
	}
	halt, cancel := context.WithCancel(context.Background())
	l := &load{done: make(chan struct{}), began: time.Now(), halt: cancel, closeConns: closeAll}
	go func() {
		defer close(l.done)
		var wg sync.WaitGroup
		defer wg.Wait() // the RPCs in flight end by their own deadline
		pacer := vegeta.ConstantPacer{Freq: spec.Rate, Per: time.Second}
		sem := make(chan struct{}, workers)
		var hits uint64
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			wait, stop := pacer.Pace(time.Since(l.began), hits)
			if stop {
				return
			}
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-halt.Done():
				return
			}
			select {
			case sem <- struct{}{}:
			case <-halt.Done():
				return
			}
			seq := hits
			hits++
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				l.record(callGRPC(conns[seq%uint64(len(conns))], spec, seq))
			}()
		}
	}()
	return l, nil
}

// callGRPC makes one unary RPC and describes it.
func callGRPC(c *grpcConn, spec loadSpec, seq uint64) request {
	id := spec.RunID + "-" + strconv.FormatUint(seq+1, 10)
	ctx, cancel := context.WithTimeout(context.Background(), spec.Timeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, grpcRequestID, id)
	start := time.Now()
	err := c.cc.Invoke(ctx, spec.Path, &emptypb.Empty{}, &emptypb.Empty{})
	q := request{Seq: seq, ID: id, Start: start, Latency: time.Since(start), GRPC: true}
	local, dialedAt, dialFail := c.state()
	q.Local, q.Reused = local, !dialedAt.IsZero() && dialedAt.Before(start)
	if err == nil {
		q.Code = 200 // a gRPC response is an HTTP/2 200; the RPC status is OK
		return q
	}
	st := status.Convert(err)
	q.Status = st.Code()
	q.Err = "grpc " + st.Code().String() + ": " + st.Message()
	if st.Code() == codes.Unavailable && dialFail {
		q.Local, q.DialFail = "", true
	}
	return q
}

// record counts one finished request.
func (l *load) record(q request) {
	l.sent.Add(1)
	if q.Err == "" && q.Code >= 200 && q.Code < 300 {
		l.ok.Add(1)
	} else {
		l.failed.Add(1)
	}
	l.mu.Lock()
	l.reqs = append(l.reqs, q)
	l.mu.Unlock()
}
