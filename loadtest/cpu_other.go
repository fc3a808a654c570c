//go:build !unix

package loadtest

import (
	"context"
	"errors"
	"time"
)

// selfCPU is not available where getrusage(2) is not.
type selfCPU struct{}

func (selfCPU) String() string { return "this process" }

func (selfCPU) CPU(context.Context) (time.Duration, error) {
	return 0, errors.New("loadtest: the process's CPU time is not available on this system")
}
