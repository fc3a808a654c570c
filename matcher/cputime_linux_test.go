//go:build linux

package matcher

import (
	"runtime"
	"syscall"
)

// threadCPU measures the CPU time of the calling goroutine's OS thread,
// which the benchmarks report next to wall time: on a shared machine a
// benchmark is descheduled for part of its run, and wall time then
// overstates what an operation costs.
type threadCPU struct{ start int64 }

func startThreadCPU() threadCPU {
	runtime.LockOSThread()
	return threadCPU{start: threadCPUNanos()}
}

// stop returns the CPU time used since start, or -1 when unknown.
func (t threadCPU) stop() int64 {
	d := threadCPUNanos() - t.start
	runtime.UnlockOSThread()
	return d
}

func threadCPUNanos() int64 {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
