package lint

import (
	"strconv"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

// fmtDur prints a duration the way manifests write them: "30s", "1m30s",
// "500ms", "0s".
func fmtDur(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if len(s) > 3 && s[len(s)-3:] == "m0s" {
		s = s[:len(s)-2]
	}
	if len(s) > 3 && s[len(s)-3:] == "h0m" {
		s = s[:len(s)-2]
	}
	return s
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }
