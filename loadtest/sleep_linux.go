//go:build linux

package loadtest

import (
	"runtime"
	"syscall"
	"time"
)

// prSetTimerSlack is prctl's PR_SET_TIMERSLACK.
const prSetTimerSlack = 29

// preciseSleep sleeps for d with nanosleep(2), which on Linux wakes within
// tens of microseconds, where a runtime timer may wake a millisecond late
// when the process is otherwise idle. The thread's timer slack (50 µs by
// default) is lowered to 1 µs first; the setting is per thread and the
// goroutine may run on a different thread each time, so it is set on every
// call (one cheap system call per sleep).
//
// The runtime does not hand a thread's processor (P) to other goroutines
// when it enters a system call, only when its monitor notices the call is
// taking long, which can take up to 10 ms. Only the run's one pacer
// goroutine sleeps here, so at most one P is tied up; with a single P there
// would be nothing left to run the senders and readers, so the runtime
// timer is used instead.
func preciseSleep(d time.Duration) {
	if runtime.GOMAXPROCS(0) < 2 {
		time.Sleep(d)
		return
	}
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1000, 0)
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil)
}
