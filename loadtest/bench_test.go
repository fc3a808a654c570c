package loadtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/iso"
)

// BenchmarkGeneratorEcho measures what the generator can offer: one
// 1-second open-loop run per iteration against an in-process EchoSink (a
// host of infinite speed). It reports the achieved rate and the
// generator's own send lag; a rate the generator cannot offer shows as a
// send lag that grows, or replies below the rate. The sink shares the
// process, so the figures are a lower bound of a separate-process run.
//
//	go test -run '^$' -bench GeneratorEcho -benchtime 1x ./loadtest/
func BenchmarkGeneratorEcho(b *testing.B) {
	for _, rate := range []float64{25_000, 50_000, 100_000} {
		b.Run(fmt.Sprintf("rate=%.0f", rate), func(b *testing.B) {
			sink, err := NewEchoSink("127.0.0.1:0", iso.Binary2)
			if err != nil {
				b.Fatal(err)
			}
			defer sink.Close()
			cards := SyntheticCards(1000, 1)
			var res *Result
			for b.Loop() {
				res, err = Run(context.Background(), Config{
					Target: sink.Addr(), Conns: 4, Rate: rate, Duration: time.Second,
					Warmup: 200 * time.Millisecond, Cards: cards, MaxApprovals: -1,
				}, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(res.ThroughputPerSec, "replies/s")
			b.ReportMetric(float64(res.Timeouts+res.Errors), "failed")
			b.ReportMetric(float64(res.SendLag.P50)/1e3, "lag-p50-µs")
			b.ReportMetric(float64(res.SendLag.P99)/1e3, "lag-p99-µs")
			b.ReportMetric(float64(res.Latency.P50)/1e3, "p50-µs")
			b.ReportMetric(float64(res.Latency.P99)/1e3, "p99-µs")
			// The sink runs in this process, so this is the generator's
			// CPU and the sink's together.
			b.ReportMetric(res.GeneratorCPU.MicrosPerMessage, "cpu-µs/msg")
		})
	}
}
