package main

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestPrestopCLI(t *testing.T) {
	defer goleak.VerifyNone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{name: "sleep", args: []string{"prestop", "sleep", "20ms"}, code: 0, wantErr: "lameduck prestop: sleep: done after 20ms"},
		{name: "sleep plain seconds", args: []string{"prestop", "sleep", "0.01"}, code: 0, wantErr: "done after 10ms"},
		{name: "sleep bad duration", args: []string{"prestop", "sleep", "soon"}, code: 2, wantErr: "invalid duration"},
		{name: "sleep no argument", args: []string{"prestop", "sleep"}, code: 2},
		{name: "drain nothing listening", args: []string{"prestop", "drain", "--admin", "http://" + closed, "--timeout", "1s"}, code: 1,
			wantErr: "lameduck prestop: FAILED: drain: http://" + closed + "/drain?timeout=1s"},
		{name: "drain bad admin", args: []string{"prestop", "drain", "--admin", "ftp://x"}, code: 2},
		{name: "signal bad name", args: []string{"prestop", "signal", "--signal", "NOPE"}, code: 2, wantErr: "unknown signal"},
		{name: "unknown action", args: []string{"prestop", "nap"}, code: 2, wantErr: `unknown action "nap"`},
		{name: "no action", args: []string{"prestop"}, code: 2, wantErr: "missing action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantErr, errOut)
			}
		})
	}
}

// TestPrestopSignalWait signals a real process and waits for it to exit.
func TestPrestopSignalWait(t *testing.T) {
	defer goleak.VerifyNone(t)
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatalf("starting sleep: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	defer func() {
		_ = child.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Error("child not reaped")
		}
	}()
	pid := strconv.Itoa(child.Process.Pid)
	code, _, errOut := runCLI(t, "", "prestop", "signal", "--pid", pid, "--signal", "TERM", "--wait", "--timeout", "10s")
	if code != 0 || !strings.Contains(errOut, "pid "+pid+" and its descendants exited") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}
