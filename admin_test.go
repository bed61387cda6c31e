package lameduck

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// The admin handler served by a server of the caller's while Run starts:
// Run resolves the options while /drain reads them (go test -race).
func TestDrainHandlerWhileRunStartsIsRaceFree(t *testing.T) {
	a := New(Options{LookupEnv: NoEnv, Logger: discardLogger, DrainToken: "s3cret"})
	srv := httptest.NewServer(a.AdminHandler())
	defer srv.Close()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				resp, err := http.Get(srv.URL + "/drain") // no token: refused, after reading the options
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("drain without the token: %d, want 403", resp.StatusCode)
				}
			}
		})
	}
	code := make(chan int, 1)
	go func() { code <- a.Run() }()
	wg.Wait()
	a.Shutdown(nil)
	if c := <-code; c != ExitOK {
		t.Errorf("exit code %d", c)
	}
}

// A /drain served before Run honours $LAMEDUCK_DRAIN_TOKEN.
func TestDrainBeforeRunHonoursEnvToken(t *testing.T) {
	a := New(Options{Logger: discardLogger, LookupEnv: env(EnvDrainToken, "from-env")})
	h := a.DrainHandler()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/drain", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("drain before Run without the env token: %d, want 403", w.Code)
	}
	if a.shuttingDown() {
		t.Error("a refused drain started the shutdown")
	}
}

// Without a token /drain is for local callers only (a preStop exec hook);
// a peer elsewhere (a kubelet httpGet hook comes from the node, or any pod
// in the cluster) needs the token.
func TestDrainWithoutTokenOnlyFromLoopback(t *testing.T) {
	for _, tc := range []struct {
		remote string
		token  string
		want   bool // accepted
	}{
		{"127.0.0.1:40000", "", true},
		{"[::1]:40000", "", true},
		{"[::ffff:127.0.0.1]:40000", "", true},
		{"10.1.2.3:40000", "", false},
		{"10.1.2.3:40000", "s3cret", true},
	} {
		a := New(Options{LookupEnv: NoEnv, Logger: discardLogger})
		if tc.token != "" {
			a = New(Options{LookupEnv: NoEnv, Logger: discardLogger, DrainToken: tc.token})
		}
		r := httptest.NewRequest("GET", "/drain?timeout=1ms", nil)
		r.RemoteAddr = tc.remote
		r.Header.Set(DefaultDrainTokenHeader, tc.token)
		w := httptest.NewRecorder()
		a.DrainHandler().ServeHTTP(w, r)
		if got := a.shuttingDown(); got != tc.want {
			t.Errorf("drain from %s with token %q: accepted=%v (status %d), want %v", tc.remote, tc.token, got, w.Code, tc.want)
		}
	}
}
