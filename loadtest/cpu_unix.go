//go:build unix

package loadtest

import (
	"context"
	"syscall"
	"time"
)

// selfCPU reads the generator's own CPU time with getrusage(2).
type selfCPU struct{}

func (selfCPU) String() string { return "this process (getrusage)" }

func (selfCPU) CPU(context.Context) (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
