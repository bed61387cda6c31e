package lameduck

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestOptionsFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		base    Options
		env     []string
		want    Budget
		wantErr []string // substrings of the error
	}{
		{name: "defaults outside Kubernetes",
			want: Budget{Total: 28 * time.Second, DrainDelay: 0, Stop: 23 * time.Second, Flush: 2 * time.Second, Close: 3 * time.Second}},
		{name: "defaults in Kubernetes", env: []string{EnvKubernetes, "10.0.0.1"},
			want: Budget{Total: 28 * time.Second, DrainDelay: 5 * time.Second, Stop: 18 * time.Second, Flush: 2 * time.Second, Close: 3 * time.Second}},
		{name: "explicit zero drain delay in Kubernetes", env: []string{EnvKubernetes, "10.0.0.1", EnvDrainDelay, "0"},
			want: Budget{Total: 28 * time.Second, Stop: 23 * time.Second, Flush: 2 * time.Second, Close: 3 * time.Second}},
		{name: "plain seconds and preStop", env: []string{EnvGracePeriod, "60", EnvPreStop, "10s", EnvDrainDelay, "2.5"},
			want: Budget{Total: 48 * time.Second, DrainDelay: 2500 * time.Millisecond, Stop: 40500 * time.Millisecond, Flush: 2 * time.Second, Close: 3 * time.Second}},
		{name: "env overrides code", base: Options{DrainDelay: 9 * time.Second}, env: []string{EnvDrainDelay, "1s"},
			want: Budget{Total: 28 * time.Second, DrainDelay: time.Second, Stop: 22 * time.Second, Flush: 2 * time.Second, Close: 3 * time.Second}},
		{name: "stop timeout caps stopping", env: []string{EnvStopTimeout, "10s"},
			want: Budget{Total: 28 * time.Second, Stop: 10 * time.Second, Flush: 2 * time.Second, Close: 3 * time.Second}},
		{name: "stop timeout too long warns", env: []string{EnvStopTimeout, "1m"},
			want: Budget{Total: 28 * time.Second, Stop: 23 * time.Second, Flush: 2 * time.Second, Close: 3 * time.Second,
				Warnings: []string{"stop timeout 1m0s does not fit"}}},
		{name: "no time left to stop warns", env: []string{EnvGracePeriod, "10s", EnvDrainDelay, "6s", EnvFlushTimeout, "2s", EnvCloseTimeout, "3s"},
			want: Budget{Total: 8 * time.Second, DrainDelay: 6 * time.Second, Stop: 0, Flush: 2 * time.Second, Close: 3 * time.Second,
				Warnings: []string{"leave no time to stop"}}},
		{name: "short grace period shrinks the default caps", env: []string{EnvGracePeriod, "5s"},
			want: Budget{Total: 3 * time.Second, Stop: 2 * time.Second, Flush: 500 * time.Millisecond, Close: 500 * time.Millisecond}},
		{name: "empty KUBERNETES_SERVICE_HOST is not Kubernetes", env: []string{EnvKubernetes, ""},
			want: Budget{Total: 28 * time.Second, Stop: 23 * time.Second, Flush: 2 * time.Second, Close: 3 * time.Second}},
		{name: "garbage duration", env: []string{EnvDrainDelay, "abc"},
			wantErr: []string{"LAMEDUCK_DRAIN_DELAY", `"abc"`, `"5s"`}},
		{name: "negative duration", env: []string{EnvFlushTimeout, "-1s"},
			wantErr: []string{"LAMEDUCK_FLUSH_TIMEOUT", "negative"}},
		{name: "NaN", env: []string{EnvDrainDelay, "NaN"},
			wantErr: []string{"LAMEDUCK_DRAIN_DELAY", `"NaN"`, "not a finite number"}},
		{name: "Inf", env: []string{EnvGracePeriod, "Inf"},
			wantErr: []string{"LAMEDUCK_GRACE_PERIOD", `"Inf"`, "not a finite number"}},
		{name: "too large", env: []string{EnvGracePeriod, "1e10"},
			wantErr: []string{"LAMEDUCK_GRACE_PERIOD", `"1e10"`, "out of range (at most 9223372036 seconds)"}},
		{name: "beyond float64", env: []string{EnvGracePeriod, "1e400"},
			wantErr: []string{"LAMEDUCK_GRACE_PERIOD", "out of range"}},
		{name: "shorter than a nanosecond", env: []string{EnvDrainDelay, "1e-12"},
			wantErr: []string{"LAMEDUCK_DRAIN_DELAY", `"1e-12"`, "shorter than a nanosecond"}},
		{name: "bad boolean", env: []string{EnvGracePeriodFromAPI, "yes please"},
			wantErr: []string{"LAMEDUCK_GRACE_PERIOD_FROM_API", "true or false"}},
		{name: "drain delay beyond budget", env: []string{EnvDrainDelay, "40s"},
			wantErr: []string{"LAMEDUCK_DRAIN_DELAY", "does not fit the shutdown budget 28s"}},
		{name: "preStop eats the grace period", env: []string{EnvGracePeriod, "5", EnvPreStop, "5"},
			wantErr: []string{"LAMEDUCK_GRACE_PERIOD", "leaves no shutdown budget"}},
		{name: "two errors at once", env: []string{EnvDrainDelay, "x", EnvGracePeriod, "y"},
			wantErr: []string{"LAMEDUCK_DRAIN_DELAY", "LAMEDUCK_GRACE_PERIOD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := OptionsFromEnv(tc.base, env(tc.env...))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, want one mentioning %q", tc.wantErr)
				}
				if !errors.Is(err, ErrConfig) {
					t.Errorf("error %v does not wrap ErrConfig", err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := o.Budget()
			if len(got.Warnings) != len(tc.want.Warnings) {
				t.Fatalf("warnings %q, want %d mentioning %q", got.Warnings, len(tc.want.Warnings), tc.want.Warnings)
			}
			for i, w := range tc.want.Warnings {
				if !strings.Contains(got.Warnings[i], w) {
					t.Errorf("warning %q does not mention %q", got.Warnings[i], w)
				}
			}
			got.Warnings, tc.want.Warnings = nil, nil
			if got.Total != tc.want.Total || got.DrainDelay != tc.want.DrainDelay || got.Stop != tc.want.Stop ||
				got.Flush != tc.want.Flush || got.Close != tc.want.Close {
				t.Errorf("budget %+v, want %+v", got, tc.want)
			}
		})
	}
}
