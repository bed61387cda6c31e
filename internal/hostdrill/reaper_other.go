//go:build !linux

package hostdrill

import "errors"

func becomeSubreaper() error { return errors.New("not supported on this system") }

func wait4(int) int { return -1 }
