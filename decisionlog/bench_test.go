package decisionlog

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/internal/benchload"
)

// BenchmarkLogs appends 150-byte records (about a decision record's size)
// on the real filesystem, each followed by a wait for its durability, as a
// decision is before its reply, and reports records per second, the latency
// from append to durable, CPU per record and syncs per second. Paced runs
// (rate > 0) are open loop, as traffic is. Run it with -benchtime=Nx to set
// the number of records, for example:
//
//	go test -run '^$' -bench 'Logs' -benchtime=200000x ./decisionlog/
func BenchmarkLogs(b *testing.B) {
	for _, im := range impls {
		for _, interval := range []time.Duration{-1, 200 * time.Microsecond, 500 * time.Microsecond} {
			for _, rate := range []int{0, 20000, 100000} {
				name := fmt.Sprintf("%s/interval=%v/rate=%d", im.name, max(interval, 0), rate)
				b.Run(name, func(b *testing.B) { benchLog(b, im.open, interval, rate) })
			}
		}
	}
}

func benchLog(b *testing.B, open func(Config) (Log, error), interval time.Duration, rate int) {
	var syncs, synced atomic.Int64
	l, err := open(Config{Dir: b.TempDir(), MinSyncInterval: interval, OnSync: func(_ time.Duration, n int) {
		syncs.Add(1)
		synced.Add(int64(n))
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	rec := make([]byte, 150)
	b.ReportAllocs()
	b.ResetTimer()
	r := benchload.Run(b.N, 256, rate, func(int64) {
		lsn, err := l.Append(rec)
		if err == nil {
			err = l.WaitDurable(lsn)
		}
		if err != nil {
			b.Error(err)
		}
	})
	b.StopTimer()
	r.Report(b, "record", r.CPU)
	b.ReportMetric(float64(syncs.Load())/r.Elapsed.Seconds(), "syncs/s")
}

// BenchmarkReadFromTail reads the last 100 records of a full 64 MiB
// segment on the real filesystem, as a reader that follows the log (webhook
// delivery catching up, a restart's replay from a checkpoint) asks for
// records deep in a segment:
//
//	go test -run '^$' -bench 'ReadFromTail' ./decisionlog/
func BenchmarkReadFromTail(b *testing.B) {
	l, err := Open(Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	rec := make([]byte, 1000)
	var last LSN
	for range 60_000 {
		if last, err = l.Append(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.WaitDurable(last); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := l.ReadFrom(last-99, func(LSN, []byte) error { n++; return nil }); err != nil || n != 100 {
			b.Fatal(err, n)
		}
	}
}
