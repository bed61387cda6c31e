package lameduck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultServiceAccountDir is where Kubernetes mounts a pod's service
// account token, the cluster's CA certificate and the pod's namespace.
const DefaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// apiGraceTimeout bounds the request to the API server: it is spent out of
// the shutdown budget, so it must be short.
const apiGraceTimeout = time.Second

// apiGracePeriod reads the grace period the kubelet actually gives this
// pod — metadata.deletionGracePeriodSeconds, which evictions, node
// shutdown and "kubectl delete --grace-period" set and the downward API
// cannot expose — from the API server, when Options.GracePeriodFromAPI is
// set. It reports false (and the configured GracePeriod stays) when it is
// off, when the pod is not being deleted, or on any error, which it logs.
func (a *App) apiGracePeriod() (time.Duration, bool) {
	if !a.cfg.GracePeriodFromAPI {
		return 0, false
	}
	start := time.Now()
	g, err := a.fetchGracePeriod()
	if err != nil {
		a.log.log(slog.LevelWarn, "lameduck: grace period from the API server unavailable; using the configured one",
			"err", err, "grace_period", a.cfg.GracePeriod)
		return 0, false
	}
	a.log.log(slog.LevelInfo, "lameduck: grace period from the API server", "grace_period", g,
		"configured", a.cfg.GracePeriod, "took", time.Since(start).Round(time.Millisecond))
	return g, true
}

// fetchGracePeriod is GET /api/v1/namespaces/NS/pods/NAME with the pod's
// service-account token, verified against the service account's CA.
func (a *App) fetchGracePeriod() (time.Duration, error) {
	lookup := a.cfg.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	env := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	host, port := env(EnvKubernetes), env("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return 0, errors.New("not in Kubernetes: KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT unset")
	}
	pod := env(EnvPodName)
	if pod == "" {
		pod = env("HOSTNAME")
	}
	if pod == "" {
		return 0, fmt.Errorf("pod name unknown: set %s (downward API: fieldRef metadata.name)", EnvPodName)
	}
	dir := a.cfg.ServiceAccountDir
	if dir == "" {
		dir = DefaultServiceAccountDir
	}
	token, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		return 0, err
	}
	ns, err := os.ReadFile(filepath.Join(dir, "namespace"))
	if err != nil {
		return 0, err
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return 0, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return 0, fmt.Errorf("%s: no certificate", filepath.Join(dir, "ca.crt"))
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), apiGraceTimeout)
	defer cancel()
	u := "https://" + net.JoinHostPort(host, port) + "/api/v1/namespaces/" +
		url.PathEscape(strings.TrimSpace(string(ns))) + "/pods/" + url.PathEscape(pod)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s (the pod's service account needs: get pods in its namespace)", u, resp.Status)
	}
	var pod1 struct {
		Metadata struct {
			DeletionGracePeriodSeconds *int64 `json:"deletionGracePeriodSeconds"`
		} `json:"metadata"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&pod1); err != nil {
		return 0, fmt.Errorf("GET %s: %w", u, err)
	}
	g := pod1.Metadata.DeletionGracePeriodSeconds
	if g == nil {
		return 0, errors.New("the pod is not being deleted (no metadata.deletionGracePeriodSeconds)")
	}
	if *g < 0 || *g > maxDurationSeconds {
		return 0, fmt.Errorf("deletionGracePeriodSeconds %d out of range", *g)
	}
	return time.Duration(*g) * time.Second, nil
}
