package prestop

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    Command
		wantErr bool
	}{
		{args: []string{"sleep", "10s"}, want: Command{Action: "sleep", Sleep: 10 * time.Second}},
		{args: []string{"sleep", "7"}, want: Command{Action: "sleep", Sleep: 7 * time.Second}},
		{args: []string{"sleep", "1.5"}, want: Command{Action: "sleep", Sleep: 1500 * time.Millisecond}},
		{args: []string{"drain", "--admin", "http://127.0.0.1:9000", "--timeout", "45s", "--token", "x"},
			want: Command{Action: "drain", Admin: "http://127.0.0.1:9000", Timeout: 45 * time.Second, Token: "x"}},
		{args: []string{"drain"}, want: Command{Action: "drain", Timeout: DefaultDrainTimeout}},
		{args: []string{"signal", "--pid", "1", "--signal", "QUIT", "--wait", "--timeout=20s"},
			want: Command{Action: "signal", PID: 1, Signal: "QUIT", Wait: true, Timeout: 20 * time.Second}},
		{args: []string{"signal"}, want: Command{Action: "signal", PID: 1, Signal: "QUIT", Timeout: DefaultSignalTimeout}},
		{args: nil, wantErr: true},
		{args: []string{"nap", "1s"}, wantErr: true},
		{args: []string{"sleep"}, wantErr: true},
		{args: []string{"sleep", "-1s"}, wantErr: true},
		{args: []string{"sleep", "NaN"}, wantErr: true},
		{args: []string{"sleep", "soon"}, wantErr: true},
		{args: []string{"drain", "extra"}, wantErr: true},
		{args: []string{"drain", "--bogus"}, wantErr: true},
		{args: []string{"signal", "--signal", "SIGNOPE"}, wantErr: true},
	} {
		got, err := ParseArgs(tc.args)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseArgs(%q) error = %v, want error %v", tc.args, err, tc.wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseArgs(%q) = %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

func TestAdminURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                       DefaultAdmin,
		":8081":                  "http://127.0.0.1:8081",
		"0.0.0.0:9090":           "http://127.0.0.1:9090",
		"[::]:9090":              "http://127.0.0.1:9090",
		"10.1.2.3:8081":          "http://10.1.2.3:8081",
		"http://127.0.0.1:8081/": "http://127.0.0.1:8081",
		"ftp://x:1":              "",
		"nope":                   "",
	} {
		got, err := AdminURL(in)
		if want == "" {
			if err == nil {
				t.Errorf("AdminURL(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("AdminURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSleepCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stop")
	cancel(stop)
	if err := Sleep(ctx, time.Hour, func(string, ...any) {}); !errors.Is(err, stop) {
		t.Fatalf("Sleep = %v, want %v", err, stop)
	}
	if err := Sleep(context.Background(), time.Millisecond, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
}
