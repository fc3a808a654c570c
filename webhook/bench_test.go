package webhook

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/internal/benchload"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// BenchmarkDeliver measures the dispatcher alone: b.N events recorded
// the way the ledger records them (one decision record each, 64 writers,
// Notify once it is durable), read from the log by fan-out and delivered
// to one fast local receiver subscribed to everything. deliveries/s runs
// from the first record until the receiver had every event.
func BenchmarkDeliver(b *testing.B) {
	dir := b.TempDir()
	db, err := store.Open(store.Options{Dir: dir})
	require.NoError(b, err)
	tl := openTestLog(b, nil, dir)
	svc, err := New(Config{Store: db, Log: tl, Clock: clock.Real{}})
	require.NoError(b, err)
	defer func() {
		require.NoError(b, svc.Close())
		tl.close()
		require.NoError(b, db.Close())
	}()
	var delivered atomic.Int64
	url := fastReceiver(b, func(*fasthttp.RequestCtx) { delivered.Add(1) })
	_, err = svc.Create(CreateInput{URL: url}, nil)
	require.NoError(b, err)

	var ids model.IDGen
	data := eventlog.TxnPayload{TransactionID: "txn_01kjmma2g00001sjmmnmj0", CardID: "card_01kjmma2g00001sjmmnmj0",
		AgentID: "agent_01kjmma2g00001sjmmnmj0", UserID: "user_01kjmma2g00001sjmmnmj0", Amount: 100,
		Currency: "USD", MerchantName: "BENCH", MCC: "5812", Status: "pending"}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchload.CPUTime()
	start := time.Now()
	work := make(chan int, 1024)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				now := time.Now()
				id := ids.New(model.PrefixEvent, now)
				lsn := tl.append(testEvent{id: id, raw: eventlog.AppendTxn(nil, model.Ms(now), model.EvtTxnAuthorized, &data)})
				svc.Notify(lsn)
			}
		}()
	}
	for i := range b.N {
		work <- i
	}
	close(work)
	wg.Wait()
	committed := time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for delivered.Load() < int64(b.N) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	all := time.Since(start)
	b.ReportMetric(float64(b.N)/committed.Seconds(), "commits/s")
	b.ReportMetric(float64(delivered.Load())/all.Seconds(), "deliveries/s")
	b.ReportMetric((all - committed).Seconds(), "drain-after-s")
	b.ReportMetric(float64((benchload.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}

// fastReceiver serves handle with fasthttp on a loopback port until the
// benchmark ends, and returns its URL. The receiver is the benchmark's
// setup, not what it measures, so it is as cheap as a receiver gets: a
// net/http one costs about as much CPU per request as the sender.
func fastReceiver(b *testing.B, handle fasthttp.RequestHandler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	srv := &fasthttp.Server{Handler: handle}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String() + "/"
}

// BenchmarkNotify is what event recording adds to a decision: the ledger
// calls Notify once its record is durable, from every deciding goroutine.
func BenchmarkNotify(b *testing.B) {
	dir := b.TempDir()
	db, err := store.Open(store.Options{Dir: dir})
	require.NoError(b, err)
	tl := openTestLog(b, nil, dir)
	svc, err := New(Config{Store: db, Log: tl, Clock: clock.Real{}})
	require.NoError(b, err)
	defer func() {
		require.NoError(b, svc.Close())
		tl.close()
		require.NoError(b, db.Close())
	}()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			svc.Notify(1)
		}
	})
}
