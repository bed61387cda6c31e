package demo

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/internal/redistest"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"PORT": "9000", "REDIS_ADDR": "r:1"}
	cfg, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":9000" || cfg.AdminAddr != ":10000" || cfg.RedisAddr != "r:1" || cfg.Delay != time.Second {
		t.Fatalf("cfg = %+v", cfg)
	}
	env["ADMIN_PORT"] = "x"
	if _, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, 0); err == nil {
		t.Fatal("invalid ADMIN_PORT accepted")
	}
}

func counterValue(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	v, err := rdb.Get(context.Background(), Key).Int()
	if errors.Is(err, redis.Nil) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func post(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestNaiveIncrementsLater(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ts := httptest.NewServer(NaiveHandler(NewStore(rdb, Key, ""), 200*time.Millisecond))
	defer ts.Close()
	for range 3 {
		if code := post(t, ts.URL+"/incr"); code != 200 {
			t.Fatalf("POST /incr = %d", code)
		}
	}
	if v := counterValue(t, rdb); v != 0 {
		t.Fatalf("counter = %d right after the 200s; the increment should come later", v)
	}
	deadline := time.After(5 * time.Second)
	for counterValue(t, rdb) != 3 {
		select {
		case <-deadline:
			t.Fatalf("counter = %d, want 3", counterValue(t, rdb))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestGracefulWaitsForIncrements shuts the lameduck variant down right after
// acknowledging requests: every increment must still land.
func TestGracefulWaitsForIncrements(t *testing.T) {
	srv := redistest.Start(t)
	cfg := Config{Addr: freeAddr(t), AdminAddr: freeAddr(t), RedisAddr: srv.Addr, Key: Key, Delay: 300 * time.Millisecond}
	app := NewGraceful(cfg, lameduck.Options{LookupEnv: lameduck.NoEnv, GracePeriod: 10 * time.Second, DrainDelay: lameduck.NoDrainDelay})
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
	for range 5 {
		if code := post(t, "http://"+cfg.Addr+"/incr"); code != 200 {
			t.Fatalf("POST /incr = %d", code)
		}
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
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	if v := counterValue(t, rdb); v != 5 {
		t.Fatalf("counter = %d after a graceful stop, want 5", v)
	}
}
