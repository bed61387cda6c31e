package lameduck

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"
)

// checkTimeout bounds each readiness check run by /readyz.
const checkTimeout = 2 * time.Second

func (a *App) mountAdmin(mux *http.ServeMux) {
	mux.Handle("/livez", a.LivezHandler())
	mux.Handle("/readyz", a.ReadyzHandler())
	mux.Handle("/phase", http.HandlerFunc(a.servePhase))
	mux.Handle("/drain", a.DrainHandler())
}

// LivezHandler answers 200 until the process exits: liveness must never
// fail because of a shutdown, or the kubelet would restart a draining pod.
// With ?verbose it lists its checks, Kubernetes-style.
func (a *App) LivezHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if _, verbose := r.URL.Query()["verbose"]; verbose {
			fmt.Fprintf(w, "[+]ping ok\n[+]phase ok: %v\nlivez check passed\n", a.Phase())
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

// ReadyzHandler answers 200 only in Serving while every ReadyCheck passes,
// and 503 from the first instant of Draining. With ?verbose it lists each
// check as "[+]name ok" or "[-]name failed: reason", Kubernetes-style.
func (a *App) ReadyzHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		type result struct {
			name string
			err  error
		}
		phase := a.Phase()
		results := []result{{"phase", nil}}
		if phase != Serving || a.track.draining.Load() {
			results[0].err = fmt.Errorf("%v", phase)
		}
		a.mu.Lock()
		checks := append([]check(nil), a.checks...)
		a.mu.Unlock()
		for _, c := range checks {
			results = append(results, result{c.name, a.runCheck(r.Context(), c)})
		}
		ok := true
		var b strings.Builder
		for _, res := range results {
			if res.err != nil {
				ok = false
				fmt.Fprintf(&b, "[-]%s failed: %v\n", res.name, res.err)
			} else {
				fmt.Fprintf(&b, "[+]%s ok\n", res.name)
			}
		}
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		// Status first, body after: writing the body first would send 200.
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if _, verbose := r.URL.Query()["verbose"]; verbose {
			verdict := "passed"
			if !ok {
				verdict = "failed"
			}
			fmt.Fprintf(w, "%sreadyz check %s\n", b.String(), verdict)
			return
		}
		if ok {
			fmt.Fprintln(w, "ok")
		} else {
			fmt.Fprintln(w, "not ready:", a.Phase())
		}
	})
}

// runCheck runs one readiness check with a timeout, recovering panics.
func (a *App) runCheck(ctx context.Context, c check) (err error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return c.fn(ctx)
}

// checksPass runs every ready check and returns the first failure.
func (a *App) checksPass(ctx context.Context) error {
	a.mu.Lock()
	checks := append([]check(nil), a.checks...)
	a.mu.Unlock()
	for _, c := range checks {
		if err := a.runCheck(ctx, c); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return nil
}

// PhaseStatus is the JSON document served by /phase.
type PhaseStatus struct {
	Phase          string `json:"phase"`
	InFlight       int64  `json:"inflight"`
	Tasks          int64  `json:"tasks"`
	TasksDone      int64  `json:"tasks_done"`
	Drained        int64  `json:"drained"`
	ServedDraining int64  `json:"served_draining"`
	Refused        int64  `json:"refused"`
	CutRequests    int64  `json:"cut_requests"`
	CutTasks       int64  `json:"cut_tasks"`
}

func (a *App) servePhase(w http.ResponseWriter, r *http.Request) {
	st := a.Stats()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(PhaseStatus{
		Phase: st.Phase.String(), InFlight: st.InFlight, Tasks: st.Tasks, TasksDone: st.TasksDone, Drained: st.Drained,
		ServedDraining: st.ServedDraining, Refused: st.Refused,
		CutRequests: st.CutRequests, CutTasks: st.CutTasks,
	})
}

// DrainHandler starts the shutdown, as a stop signal would, and answers
// once Stopping is over: 200 "drained" when nothing was cut off, 500 when
// the stop budget cut requests or tasks off (so a preStop hook reports the
// failure), or 504 when ?timeout= (default: the grace period) passes
// first. It is meant for a Kubernetes preStop hook:
//
//	lifecycle:
//	  preStop:
//	    exec:
//	      command: ["/lameduck", "prestop", "drain", "--admin", "http://127.0.0.1:8081"]
//
// A shutdown started this way counts its budget from the request, because
// the grace period starts with the preStop hook; the SIGTERM that follows
// when the hook returns is expected and is not a second signal.
//
// Exposure: whoever can call /drain can stop the process. Without a token
// ($LAMEDUCK_DRAIN_TOKEN, Options.DrainToken) /drain only accepts requests
// from the loopback interface, as an exec hook inside the pod sends them.
// With a token it accepts any peer that sends it in the X-Lameduck-Token
// header — what a kubelet httpGet hook needs, since it connects from the
// node to the pod IP:
//
//	httpGet:
//	  path: /drain
//	  port: admin
//	  httpHeaders: [{name: X-Lameduck-Token, value: "…"}]
//
// /drain refuses to run (403) on a connection of a server the App serves
// (Serve, ServeListener): there, the service's own clients could stop it,
// and the drain request would be in-flight work that Stopping waits for.
// Mount it on the admin server (Admin) or a server of its own.
func (a *App) DrainHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "lameduck: use GET or POST", http.StatusMethodNotAllowed)
			return
		}
		if a.isServiceRequest(r) {
			a.log.log(slog.LevelError, "lameduck: /drain refused on a service port: mount the admin endpoints on the admin server",
				"peer", r.RemoteAddr, "path", r.URL.Path)
			http.Error(w, "lameduck: drain refused: not served on a service port", http.StatusForbidden)
			return
		}
		cfg := a.options()
		if cfg.DrainToken == "" && !isLoopback(r.RemoteAddr) {
			http.Error(w, "lameduck: drain refused: without "+EnvDrainToken+" only a local caller (a preStop exec hook) may drain", http.StatusForbidden)
			return
		}
		if cfg.DrainToken != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get(DefaultDrainTokenHeader)), []byte(cfg.DrainToken)) != 1 {
			http.Error(w, "lameduck: drain refused: missing or wrong "+DefaultDrainTokenHeader, http.StatusForbidden)
			return
		}
		timeout := cfg.GracePeriod
		if timeout <= 0 {
			timeout = DefaultGracePeriod
		}
		if v := r.URL.Query().Get("timeout"); v != "" {
			d, err := parseDuration(v)
			if err != nil || d <= 0 {
				http.Error(w, fmt.Sprintf("lameduck: timeout=%q: want a positive duration such as 60s", v), http.StatusBadRequest)
				return
			}
			timeout = d
		}
		a.request(request{src: byDrain, cause: fmt.Errorf("lameduck: drain requested by %s", r.RemoteAddr)})
		// Run waits (briefly) for this answer before it returns: on a
		// server of the caller's, os.Exit would otherwise cut it.
		a.drainsAnswering.Add(1)
		defer a.drainsAnswering.Add(-1)
		defer func() { _ = http.NewResponseController(w).Flush() }()
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-a.Entered(Flushing):
			st := a.Stats()
			if !a.stopClean.Load() {
				http.Error(w, fmt.Sprintf("lameduck: not drained cleanly: the stop budget cut off %d requests and %d tasks (phase %v)",
					st.CutRequests, st.CutTasks, st.Phase), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "drained: nothing in flight, nothing cut off (phase %v)\n", st.Phase)
		case <-t.C:
			st := a.Stats()
			http.Error(w, fmt.Sprintf("lameduck: not drained after %v: %d requests and %d tasks in flight (phase %v)",
				timeout, st.InFlight, st.Tasks, st.Phase), http.StatusGatewayTimeout)
		case <-r.Context().Done():
		}
	})
}

// options returns the resolved options once Run has resolved them, and
// until then the options given to New with the environment applied (so a
// /drain served before Run honours $LAMEDUCK_DRAIN_TOKEN).
func (a *App) options() Options {
	if o := a.resolved.Load(); o != nil {
		return *o
	}
	o := a.opts
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v, ok := lookup(EnvDrainToken); ok && v != "" {
		o.DrainToken = v
	}
	if v, ok := lookup(EnvGracePeriod); ok {
		if d, err := parseDuration(v); err == nil && d > 0 {
			o.GracePeriod = d
		}
	}
	return o
}

// isServiceRequest reports whether r is the App's own in-flight work: it
// arrived on a connection of a server the App serves, or it is counted by
// the App's middleware on a server of the caller's.
func (a *App) isServiceRequest(r *http.Request) bool {
	if c, _ := r.Context().Value(connKey{}).(*trackedConn); c != nil {
		return true
	}
	t := &a.track
	t.mu.Lock()
	defer t.mu.Unlock()
	for req := range t.slow {
		if req.Context() == r.Context() {
			return true
		}
	}
	return false
}

// isLoopback reports whether a RemoteAddr is on the loopback interface.
func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
