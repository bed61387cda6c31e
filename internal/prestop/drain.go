package prestop

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Environment variables that supply defaults to Drain; a preStop exec hook
// runs with the container's environment, so these are the very settings the
// lameduck service reads.
const (
	EnvAdminAddr  = "LAMEDUCK_ADMIN_ADDR"
	EnvDrainToken = "LAMEDUCK_DRAIN_TOKEN"
)

// TokenHeader carries the drain token.
const TokenHeader = "X-Lameduck-Token"

// Drain asks a lameduck admin server to drain.
type Drain struct {
	// Admin is the admin server's base URL ("http://127.0.0.1:8081") or a
	// host:port (":8081", "127.0.0.1:8081").
	Admin string
	// Token, if not empty, is sent as X-Lameduck-Token.
	Token string
	// Timeout is passed to /drain as ?timeout= and bounds the whole call.
	Timeout time.Duration
	// Client is used for the request. Default: a client without keep-alive.
	Client *http.Client
}

// AdminURL turns an admin address as written in $LAMEDUCK_ADMIN_ADDR or
// --admin (":8081", "0.0.0.0:8081", "127.0.0.1:8081", "http://host:8081")
// into the base URL a hook inside the pod can reach.
func AdminURL(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return DefaultAdmin, nil
	}
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return "", fmt.Errorf("drain: invalid admin URL %q (want http://host:port)", addr)
		}
		return strings.TrimRight(addr, "/"), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("drain: invalid admin address %q (want host:port or http://host:port)", addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// Run calls GET <Admin>/drain?timeout=<Timeout> and returns nil when the
// service answers 200 (drained, nothing cut off). A 500 (the stop budget
// cut requests or tasks off), a 504 (the service's own timeout), a 403
// (wrong or missing token), any other status or a transport error is
// returned as an error.
func (d Drain) Run(ctx context.Context, logf Logf) error {
	base, err := AdminURL(d.Admin)
	if err != nil {
		return err
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultDrainTimeout
	}
	// The service enforces the timeout and answers 504; the client waits a
	// little longer so that answer, not a client-side timeout, is what we see.
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	u := base + "/drain?timeout=" + url.QueryEscape(timeout.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if d.Token != "" {
		req.Header.Set(TokenHeader, d.Token)
	}
	client := d.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
		defer client.CloseIdleConnections()
	}
	start := time.Now()
	logf("drain: GET %s", u)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("drain: %s after %v: %w", u, time.Since(start).Round(time.Millisecond), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	took := time.Since(start).Round(time.Millisecond)
	msg := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusOK:
		logf("drain: %s after %v: %s", resp.Status, took, msg)
		return nil
	case http.StatusGatewayTimeout:
		return fmt.Errorf("drain: still in flight at the %v timeout (%s after %v): %s", timeout, resp.Status, took, msg)
	case http.StatusInternalServerError:
		return fmt.Errorf("drain: the service cut work off at its stop budget (%s after %v): %s", resp.Status, took, msg)
	case http.StatusForbidden:
		return fmt.Errorf("drain: %s: the service wants a token (--token or $%s): %s", resp.Status, EnvDrainToken, msg)
	default:
		return fmt.Errorf("drain: unexpected %s after %v: %s", resp.Status, took, msg)
	}
}
