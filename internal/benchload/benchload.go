package benchload

import (
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Result is what a run measured.
type Result struct {
	N         int
	Start     time.Time       // when the first operation was due
	Elapsed   time.Duration   // from Start until the last operation ended
	CPU       time.Duration   // the process's CPU time over Elapsed
	Latencies []time.Duration // each operation's, from when a worker took it; sorted
}

// Run offers n operations to workers goroutines. With rate > 0 the run is
// open loop: operation i is offered at Start + i/rate, however long the
// ones before it take; with rate 0 each is offered as soon as a worker is
// free. op is called with the operation's number, 1 to n, and reports its
// own failures.
func Run(n, workers, rate int, op func(seq int64)) Result {
	r := Result{N: n, Latencies: make([]time.Duration, n)}
	cpu0 := CPUTime()
	r.Start = time.Now()
	work := make(chan int, 1024)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t0 := time.Now()
				op(int64(i) + 1)
				r.Latencies[i] = time.Since(t0)
			}
		}()
	}
	for i := range n {
		if rate > 0 {
			if d := time.Until(r.Start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > time.Millisecond {
				time.Sleep(d)
			}
		}
		work <- i
	}
	close(work)
	wg.Wait()
	r.Elapsed = time.Since(r.Start)
	r.CPU = CPUTime() - cpu0
	slices.Sort(r.Latencies)
	return r
}

// Percentile is the latency at rank n·p/100 of the sorted latencies (in
// integers, so p99 of 100 operations is the 100th, not a float's 99th).
func (r Result) Percentile(p int) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[min(len(r.Latencies)*p/100, len(r.Latencies)-1)]
}

// Report adds the run's throughput, p50, p99 and CPU per operation (cpu:
// r.CPU, or a caller's own count that includes work after the run) to b's
// figures, each named for the operation (unit "auths/s" for op "auth").
func (r Result) Report(b *testing.B, op string, cpu time.Duration) {
	b.ReportMetric(float64(r.N)/r.Elapsed.Seconds(), op+"s/s")
	b.ReportMetric(float64(r.Percentile(50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.Percentile(99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(cpu.Microseconds())/float64(r.N), "cpu-µs/"+op)
}

// CPUTime is the CPU time (user and system) the process has used so far.
// On a shared machine it is steadier than wall-clock rates.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
