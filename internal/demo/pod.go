package demo

import (
	"net/http"
	"os"
)

// PodHeader names, on every answer, the replica that served it. On
// Kubernetes the client sees only the Service's ClusterIP (kube-proxy
// rewrites the destination), so `lameduck drill --kube` reads this header
// to tie each request, and the keep-alive connection it came on, to a pod.
// Any service may send it; it is optional (docs/drill.md, --kube).
const PodHeader = "X-Lameduck-Pod"

// PodName is the name this replica answers with in PodHeader: $POD_NAME
// (the downward API) when set, else the host name, which is the pod's name
// on Kubernetes.
func PodName() string {
	if n := os.Getenv("POD_NAME"); n != "" {
		return n
	}
	n, _ := os.Hostname()
	return n
}

// WithPodHeader sets PodHeader to name on every answer of h ("" leaves h
// unchanged).
func WithPodHeader(name string, h http.Handler) http.Handler {
	if name == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(PodHeader, name)
		h.ServeHTTP(w, r)
	})
}
