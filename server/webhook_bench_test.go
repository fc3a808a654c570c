package server_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/internal/benchload"
	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/server"
)

// BenchmarkWebhookOverhead measures what webhook delivery costs the
// authorization path: the same synced authorizations (in process, through
// the running server's ledger, 64 at a time) with no endpoint, and with one
// fast receiver subscribed to every event (transaction.authorized, and
// card.anomaly when the card's details were not read recently; events/auth
// reports how many each authorization recorded).
//
// The plain variants decide as fast as they can; the paced-10k variants
// offer 10,000 authorizations per second, the rate the issue names. Each
// reports the decision rate (auths/s), the latency of Authorize (p50 and
// p99, in µs) and the process's CPU time per authorization. With the
// receiver they also report how fast deliveries drained (deliveries/s from
// the first authorization until the receiver had every event of the run),
// how long after the last decision the last delivery came (drain-after-s),
// and the events of the run not delivered within two minutes
// (undelivered). Only the run's own events count: the setup's are
// delivered before the clock starts.
func BenchmarkWebhookOverhead(b *testing.B) {
	for _, rate := range []int{0, 10000} {
		for _, withHook := range []bool{false, true} {
			name := "no-endpoint"
			if withHook {
				name = "fast-receiver"
			}
			if rate > 0 {
				name = fmt.Sprintf("paced-%dk-%s", rate/1000, name)
			}
			b.Run(name, func(b *testing.B) { benchWebhookOverhead(b, withHook, rate) })
		}
	}
}

func benchWebhookOverhead(b *testing.B, withHook bool, rate int) {
	e := testenv.Start(b, server.Config{})
	var (
		mu       sync.Mutex
		firstID  string // deliveries of events after this one count
		counting bool
		seen     = map[string]bool{}
		setup    atomic.Int64
	)
	if withHook {
		// The receiver is the benchmark's setup, not what it measures, so it
		// is as cheap as a receiver gets (fasthttp on loopback): a net/http
		// one costs about as much CPU per request as the sender.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		recv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
			id := ctx.Request.Header.Peek("X-Ledger-Event-Id")
			mu.Lock()
			if counting && string(id) > firstID {
				seen[string(id)] = true
			} else {
				setup.Add(1)
			}
			mu.Unlock()
		}}
		go func() { _ = recv.Serve(ln) }()
		defer func() { _ = recv.Shutdown() }()
		e.Must(201, "POST", "/v1/webhooks", map[string]any{"url": "http://" + ln.Addr().String() + "/"})
	}
	var pans []string
	for i := 0; i < 16; i++ {
		_, agentID, _ := e.Funded(fmt.Sprintf("w%d@example.com", i), 1<<40)
		pans = append(pans, e.RawCard(agentID, nil).PAN)
	}
	lastID := newestEvent(e)
	if withHook {
		// Let the setup's deliveries finish, so that they neither count nor
		// compete with the run.
		deadline := time.Now().Add(time.Minute)
		for last := int64(-1); time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			n := setup.Load()
			if n == last {
				break
			}
			last = n
		}
		mu.Lock()
		firstID, counting = lastID, true
		mu.Unlock()
	}
	delivered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	l := e.Server.Ledger()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchload.CPUTime()
	r := benchload.Run(b.N, 64, rate, func(n int64) {
		out, err := l.Authorize(context.Background(), &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth,
			PAN: pans[n%int64(len(pans))], Kind: authz.Purchase, AmountCents: 100, Currency: "840", MerchantID: "M1",
			Merchant: "BENCH", MCC: "5812", STAN: fmt.Sprintf("%06d", n%1000000), RRN: fmt.Sprintf("%012d", n), TxnTime: "1121101500"})
		if err != nil || out.Code != authz.CodeApproved {
			b.Error(err, out.Code)
		}
	})
	b.StopTimer()
	cpu := r.CPU
	if withHook {
		c := benchload.CPUTime()
		want := eventsAfter(e, lastID)
		counting := benchload.CPUTime() - c // not the run's
		deadline := time.Now().Add(2 * time.Minute)
		for delivered() < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		drained := time.Since(r.Start)
		got := delivered()
		b.ReportMetric(float64(got)/drained.Seconds(), "deliveries/s")
		b.ReportMetric(float64(want-got), "undelivered")
		b.ReportMetric(float64(want)/float64(b.N), "events/auth")
		b.ReportMetric(drained.Seconds()-r.Elapsed.Seconds(), "drain-after-s")
		cpu = benchload.CPUTime() - cpu0 - counting // the deliveries' CPU counts against the run
	}
	r.Report(b, "auth", cpu)
}

// newestEvent is the ID of the newest event in the store.
func newestEvent(e *testenv.Env) string {
	var id string
	err := e.Server.Ledger().Store().Scan(keyspace.EventsPrefix, "", true, func(k, _ []byte) bool {
		id = string(k[len(keyspace.EventsPrefix):])
		return false
	})
	if err != nil {
		panic(err)
	}
	return id
}

// eventsAfter counts the events in the store newer than the event after.
func eventsAfter(e *testenv.Env, after string) int {
	n := 0
	err := e.Server.Ledger().Store().Scan(keyspace.EventsPrefix, after, false, func(_, _ []byte) bool { n++; return true })
	if err != nil {
		panic(err)
	}
	return n
}
