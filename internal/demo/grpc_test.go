package demo

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/internal/redistest"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

// TestGracefulGRPCWaitsForIncrements: the lameduck gRPC variant, shut down
// right after acknowledging calls (made with an empty message, as the
// drill does), still lands every increment; /readyz is on the admin port.
func TestGracefulGRPCWaitsForIncrements(t *testing.T) {
	srv := redistest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Addr: ln.Addr().String(), AdminAddr: freeAddr(t), RedisAddr: srv.Addr, Key: Key, Delay: 300 * time.Millisecond}
	app := NewGracefulGRPC(cfg, ln, lameduck.Options{LookupEnv: lameduck.NoEnv, GracePeriod: 10 * time.Second, DrainDelay: lameduck.NoDrainDelay})
	done := make(chan int, 1)
	go func() { done <- app.Run() }()
	select {
	case <-app.Entered(lameduck.Serving):
	case <-time.After(10 * time.Second):
		t.Fatal("app never reached Serving")
	}
	resp, err := http.Get("http://" + cfg.AdminAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/readyz = %d while serving", resp.StatusCode)
	}
	cc, err := grpc.NewClient("passthrough:///"+cfg.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := cc.Invoke(ctx, GRPCMethod, &emptypb.Empty{}, &emptypb.Empty{})
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", GRPCMethod, err)
		}
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	if v := counterValue(t, rdb); v != 0 {
		t.Fatalf("counter = %d right after the calls; the increment should come later", v)
	}
	app.Shutdown(errors.New("test"))
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("Run = %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if v := counterValue(t, rdb); v != 5 {
		t.Fatalf("counter = %d after a graceful stop, want 5", v)
	}
}
