package lameduck

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
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
// once nothing is in flight any more (the App has reached Flushing): 200
// "drained", or 504 when ?timeout= (default: the shutdown budget) passes
// first. It is meant for a Kubernetes preStop httpGet hook, which the
// kubelet sends with GET to the pod IP:
//
//	lifecycle:
//	  preStop:
//	    httpGet: {path: /drain, port: 8081}
//
// A shutdown started this way counts its budget from the request, because
// the grace period starts with the preStop hook; the SIGTERM that follows
// when the hook returns is expected and is not a second signal.
//
// Exposure: anyone who reaches the admin port can stop the process. Keep
// the admin port off Services and Ingresses, and set $LAMEDUCK_DRAIN_TOKEN
// to require the X-Lameduck-Token header (httpGet hooks can send headers).
func (a *App) DrainHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "lameduck: use GET or POST", http.StatusMethodNotAllowed)
			return
		}
		token := a.cfg.DrainToken
		if token == "" {
			token = a.opts.DrainToken
		}
		if token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get(DefaultDrainTokenHeader)), []byte(token)) != 1 {
			http.Error(w, "lameduck: drain refused: missing or wrong "+DefaultDrainTokenHeader, http.StatusForbidden)
			return
		}
		timeout := a.cfg.GracePeriod
		if timeout == 0 {
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
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-a.Entered(Flushing):
			fmt.Fprintf(w, "drained: nothing in flight (phase %v)\n", a.Phase())
		case <-t.C:
			st := a.Stats()
			http.Error(w, fmt.Sprintf("lameduck: not drained after %v: %d requests and %d tasks in flight (phase %v)",
				timeout, st.InFlight, st.Tasks, st.Phase), http.StatusGatewayTimeout)
		case <-r.Context().Done():
		}
	})
}
