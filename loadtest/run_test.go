package loadtest

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
)

// waitUntil polls cond every millisecond until it holds or ctx ends, and
// reports whether it held.
func waitUntil(ctx context.Context, cond func() bool) bool {
	for !cond() {
		if ctx.Err() != nil {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// TestStallShowsInLatency is the coordinated-omission test. The sink stops
// answering for 300 ms once it has read 200 requests of a 1 s run at
// 1000/s, and each connection may have only one request in flight, so
// almost nothing is sent during the stall: the generator behaves like a
// closed-loop client. A closed-loop measurement (send to reply) sees the
// stall in one request per connection and reports a small p99. Measured
// from due times, the ~300 requests that fell due during the stall waited
// up to 300 ms, and the p99 says so. The stall is the sink's, whatever the
// machine's speed: what is compared with it are lower bounds, and the
// differences between due-time and send-to-reply accounting, and between
// the send lag and the generator's own clock lag.
func TestStallShowsInLatency(t *testing.T) {
	t.Parallel()
	sink, err := NewStallSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer sink.Close()
	const stall = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if waitUntil(ctx, func() bool { return sink.Received() >= 200 }) {
			sink.Stall(stall)
		}
	}()
	res, err := runBounded(t, context.Background(), Config{
		Target: sink.Addr(), Conns: 2, Rate: 1000, Duration: time.Second,
		Cards: SyntheticCards(20, 1), MaxInFlightPerConn: 1, Timeout: HistogramMax,
	})
	require.NoError(t, err)

	assert.Zero(t, res.Timeouts)
	assert.Zero(t, res.Errors)
	assert.Equal(t, res.Offered, res.Replies)
	assert.InDelta(t, 1000, res.Offered, 5)
	assert.GreaterOrEqual(t, res.Latency.Max, stall*5/6)
	assert.GreaterOrEqual(t, res.Latency.P99, stall*5/6, "the stall shows in the p99")
	assert.GreaterOrEqual(t, res.Latency.P90, stall/3, "~30%% of requests fell due during the stall")
	assert.GreaterOrEqual(t, res.SendLag.Max, stall*2/3, "requests due in the stall were sent late")
	assert.GreaterOrEqual(t, res.Latency.P99-res.ServiceTime.P99, stall/2, "send-to-reply accounting hides the stall")
	assert.GreaterOrEqual(t, res.SendLag.Max-res.PacerLag.Max, stall/2, "the server's stall is not the generator's")
}

// TestGeneratorPauseShowsInClockLag holds the generator's own clock up
// for 200 ms against a sink that never stalls: the requests due in the
// pause carry it in their latencies, and the result says it was the
// generator's, and when.
func TestGeneratorPauseShowsInClockLag(t *testing.T) {
	t.Parallel()
	sink, err := NewEchoSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer sink.Close()
	cfg := Config{
		Target: sink.Addr(), Conns: 2, Rate: 1000, Warmup: 100 * time.Millisecond, Duration: 800 * time.Millisecond,
		Cards: SyntheticCards(20, 1),
	}
	cfg.pacerStall.At, cfg.pacerStall.For = 400*time.Millisecond, 200*time.Millisecond
	res, err := Run(context.Background(), cfg, nil)
	require.NoError(t, err)

	assert.Equal(t, res.Offered, res.Replies)
	assert.GreaterOrEqual(t, res.PacerLag.Max, 190*time.Millisecond)
	assert.InDelta(t, 0.4, res.PacerLagMaxAt.Seconds(), 0.05, "the pause is placed where it happened")
	assert.Positive(t, res.PacerLag.Count)
	assert.GreaterOrEqual(t, res.Latency.Max, 190*time.Millisecond, "requests due in the pause waited for it")
	assert.Contains(t, res.PauseWarning(), "the generator's clock woke")

	var text bytes.Buffer
	res.WriteText(&text)
	assert.Contains(t, text.String(), "generator clock lag: ")
	assert.Contains(t, text.String(), "warning: the generator's clock woke")
	dir := t.TempDir()
	require.NoError(t, WriteReport(dir, res))
	html, err := os.ReadFile(filepath.Join(dir, ReportHTML))
	require.NoError(t, err)
	assert.Contains(t, string(html), "generator clock lag")
	assert.Contains(t, string(html), `<p class="warn">Warning: the generator&#39;s clock woke`)

	// Below the threshold there is no warning.
	res.PacerLag.Max = PauseWarnAt
	assert.Empty(t, res.PauseWarning())
}

// TestRepliesOutOfOrder uses a sink that answers each group of 8 requests
// in reverse order: every reply must still find its request.
func TestRepliesOutOfOrder(t *testing.T) {
	t.Parallel()
	sink, err := newStallSink("127.0.0.1:0", iso.Binary2, 8)
	require.NoError(t, err)
	defer sink.Close()
	res, err := Run(context.Background(), Config{
		Target: sink.Addr(), Conns: 2, Rate: 2000, Duration: 500 * time.Millisecond, Cards: SyntheticCards(20, 1),
	}, nil)
	require.NoError(t, err)
	assert.Greater(t, sink.reversed.Load(), int64(10), "the sink did reorder")
	assert.Equal(t, res.Offered, res.Replies)
	assert.Zero(t, res.UnmatchedReplies)
	assert.Zero(t, res.LateReplies)
	assert.Zero(t, res.Timeouts)
	assert.Zero(t, res.Errors)
	assert.Zero(t, res.DecodeErrors)
}

// hangTimeout only keeps a broken run from hanging the test: no assertion
// depends on how fast anything happens.
const hangTimeout = 2 * time.Minute

// runBounded runs Run in the background and waits for it to return, failing
// the test if it has not returned within hangTimeout.
func runBounded(t *testing.T, ctx context.Context, cfg Config) (*Result, error) {
	t.Helper()
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := Run(ctx, cfg, nil)
		done <- ran{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-time.After(hangTimeout):
		t.Fatalf("Run did not return within %v", hangTimeout)
		return nil, nil
	}
}

func TestTimeoutsWhenNothingAnswers(t *testing.T) {
	t.Parallel()
	sink, err := NewStallSink("127.0.0.1:0", iso.ASCII4)
	require.NoError(t, err)
	defer sink.Close()
	// The sink stalls for longer than the test may take: a run that waited
	// for replies instead of timing them out would never return.
	sink.Stall(24 * time.Hour)
	res, err := runBounded(t, context.Background(), Config{
		Target: sink.Addr(), Framing: iso.ASCII4, Conns: 2, Rate: 200, Duration: 300 * time.Millisecond,
		Timeout: 100 * time.Millisecond, Cards: SyntheticCards(5, 1),
	})
	require.NoError(t, err)
	assert.InDelta(t, 60, res.Offered, 2)
	assert.Equal(t, res.Offered, res.Timeouts)
	assert.Equal(t, res.Offered, res.Sent)
	assert.Zero(t, res.Replies)
	// Nothing was ever approved, so every draw was an authorization, and
	// each one left unanswered is owed its reversal.
	assert.Positive(t, res.TimeoutReversals, "timeouts are followed by reversals")
	assert.Equal(t, res.Timeouts, res.TimeoutReversals+res.TimeoutReversalsUnsent)
	assert.Equal(t, res.TimeoutReversals, res.Kinds["timeout_reversal"].Sent)
	assert.Zero(t, res.Latency.Count)
	assert.Positive(t, sink.Received())
	var seriesTimeouts int64
	for _, s := range res.Series {
		seriesTimeouts += s.Timeouts
	}
	assert.Equal(t, res.Timeouts, seriesTimeouts)
}

// miniHost is an iso.Handler that decides like a correct server would for
// the generator's messages, so an end-to-end run through the real iso
// listener can check that every message decodes as intended and that
// every expected response code is what the generator expects.
type miniHost struct {
	cards map[string]*Card

	mu        sync.Mutex
	answers   map[string]iso.Response // by STAN+RRN of each 0100
	merchants map[string]string       // PAN -> DE 42 + DE 43 name seen first
	approvals map[string]int64        // RRN+DE 38 -> amount
	mtis      map[string]int
	partials  int
	n         int

	// The run is stopped once the host has answered, past its first
	// skip messages, at least want of each MTI in wantMTIs and total
	// messages in all; enough is closed then.
	skip, want, total int
	wantMTIs          []string
	answered          int
	later             map[string]int
	enough            chan struct{}
}

// count notes a message for the stopping rule. Called with mu held.
func (h *miniHost) count(mti string) {
	h.answered++
	if h.answered <= h.skip || h.enough == nil {
		return
	}
	h.later[mti]++
	if h.answered < h.skip+h.total {
		return
	}
	for _, m := range h.wantMTIs {
		if h.later[m] < h.want {
			return
		}
	}
	close(h.enough)
	h.enough = nil
}

func (h *miniHost) HandleISO(_ context.Context, r *iso.Request) iso.Response {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mtis[r.MTI]++
	h.count(r.MTI)
	c := h.cards[r.PAN]
	if c == nil {
		return iso.Response{Code: "14"}
	}
	if m := r.MerchantID + "|" + r.MerchantName; h.merchants[r.PAN] == "" {
		h.merchants[r.PAN] = m
	} else if h.merchants[r.PAN] != m {
		return iso.Response{Code: "05"} // a multi-use card stays with its merchant
	}
	key := r.STAN + r.RRN
	switch r.MTI {
	case "0101":
		if prev, ok := h.answers[key]; ok {
			return prev
		}
		return iso.Response{Code: "25"}
	case "0220", "0400":
		amount, ok := h.approvals[r.RRN+r.AuthCode]
		if !ok || r.AuthCode == "" {
			return iso.Response{Code: "25"}
		}
		if r.AmountCents > amount {
			return iso.Response{Code: "13"}
		}
		if r.HasReplacement {
			h.partials++
			if r.ReplacementAmountCents >= amount {
				return iso.Response{Code: "13"}
			}
		}
		delete(h.approvals, r.RRN+r.AuthCode)
		return iso.Response{Code: "00"}
	}
	resp := iso.Response{Code: "00"}
	switch {
	case r.CurrencyCode != "840":
		resp.Code = "57"
	case r.Expiry != c.ExpYear[2:]+c.ExpMonth:
		resp.Code = "54"
	case !r.HasCVV2 || r.CVV2 != c.CVV:
		resp.Code = "82"
	case r.ProcessingCode == "200000":
	case r.AmountCents > c.MaxAmountCents:
		resp.Code = "61"
	}
	if resp.Code == "00" {
		h.n++
		resp.AuthCode = "T" + strings.Repeat("0", 5-len(itoa(h.n%100000))) + itoa(h.n%100000)
		if r.ProcessingCode == "000000" {
			h.approvals[r.RRN+resp.AuthCode] = r.AmountCents
		}
	}
	h.answers[key] = resp
	return resp
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestRunAgainstISOListener drives the project's own ISO 8583 listener:
// every kind of message must decode, reach the handler with the intended
// content, and be answered with the code the generator expects.
//
// Clearings, reversals and repeats need an answered original, so how many
// of them a fixed-length run holds depends on how fast the host answers.
// The run is therefore open-ended and stopped once the host has answered
// enough of each of them after the warmup (its first 200 messages, at
// 2000/s for 100 ms; twice that is skipped, for the connections' skew), and
// replies time out only after a minute: nothing asserted depends on speed.
func TestRunAgainstISOListener(t *testing.T) {
	t.Parallel()
	cards := SyntheticCards(30, 3)
	enough := make(chan struct{})
	host := &miniHost{cards: map[string]*Card{}, answers: map[string]iso.Response{},
		merchants: map[string]string{}, approvals: map[string]int64{}, mtis: map[string]int{},
		skip: 400, want: 20, total: 1000, wantMTIs: []string{"0101", "0220", "0400"}, later: map[string]int{}, enough: enough}
	for i := range cards {
		host.cards[cards[i].PAN] = &cards[i]
	}
	srv, err := iso.NewServer(iso.Config{Addr: "127.0.0.1:0"}, iso.PerRequest(host))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-enough:
		case <-ctx.Done():
		}
		cancel()
	}()
	mix := Mix{Auth: 40, Clear: 15, Reversal: 15, Refund: 5, Repeat: 10, Decline: 10, Intent: 5}
	res, err := runBounded(t, ctx, Config{
		Target: ln.Addr().String(), Conns: 3, Rate: 2000, Duration: 24 * time.Hour, Warmup: 100 * time.Millisecond,
		Timeout: HistogramMax, Mix: mix, Seed: 7, Cards: cards,
	})
	require.ErrorIs(t, err, context.Canceled, "the run ends when the host has answered enough")

	assert.Equal(t, res.Offered, res.Replies)
	assert.Zero(t, res.Timeouts)
	assert.Zero(t, res.Errors)
	assert.Zero(t, res.UnmatchedReplies)
	assert.Zero(t, res.DecodeErrors)
	assert.Zero(t, res.Unexpected, "every reply carries the code a correct host gives: %v", res.Kinds)
	for _, k := range []string{"auth", "intent", "refund", "repeat", "clear", "reversal", "decline_expiry", "decline_limit"} {
		assert.Positive(t, res.Kinds[k].Replies, "kind %s was sent", k)
	}
	assert.Equal(t, res.Kinds["decline_expiry"].Replies, res.Kinds["decline_expiry"].Codes["54"])
	assert.Equal(t, res.Kinds["decline_limit"].Replies, res.Kinds["decline_limit"].Codes["61"])
	// Fallbacks to an authorization (a clearing, reversal or repeat drawn
	// with no original at hand) depend on how soon replies come back, so
	// their number is not asserted here; TestFallbackWithoutOriginal
	// checks the rule.

	host.mu.Lock()
	assert.Positive(t, host.mtis["0101"])
	assert.Positive(t, host.mtis["0220"])
	assert.Positive(t, host.mtis["0400"])
	assert.Positive(t, host.partials, "some reversals are partial")
	host.mu.Unlock()

	// Approvals: every approved 0110 (warmup included), cards masked.
	require.NotEmpty(t, res.Approvals)
	approved := res.Codes["00"]
	assert.GreaterOrEqual(t, int64(len(res.Approvals)), res.Kinds["auth"].Codes["00"]+res.Kinds["intent"].Codes["00"])
	assert.Less(t, int64(len(res.Approvals)), approved+res.Offered, "only 0110 approvals are listed")
	pans := map[string]bool{}
	for _, c := range cards {
		pans[c.PAN] = true
	}
	for _, a := range res.Approvals {
		require.Len(t, a.STAN, 6)
		require.Len(t, a.RRN, 12)
		require.Len(t, a.AuthCode, 6)
		require.False(t, pans[a.Card], "approvals never carry a full PAN")
		require.Contains(t, a.Card, "******")
		require.NotEmpty(t, a.CardID)
		require.True(t, strings.HasPrefix(a.RRN, res.RunID))
	}
}

// openConns is how many connections a sink holds open.
func (b *sinkBase) openConns() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// TestReconnectsAfterConnectionLoss kills the host in the middle of a run,
// with requests unanswered, and starts another on the same address: the
// generator counts what was lost and carries on with new connections. The
// steps follow what the hosts see, not the time: the first host stops
// answering once it has read 200 requests, is closed once it has read more
// (so requests are in flight), and the run is stopped once the second host
// holds both connections and has read 200 requests.
func TestReconnectsAfterConnectionLoss(t *testing.T) {
	t.Parallel()
	first, err := NewStallSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	addr := first.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var second *EchoSink
	var secondErr error
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		if !waitUntil(ctx, func() bool { return first.Received() >= 200 }) {
			return
		}
		first.Stall(24 * time.Hour)
		held := first.Received()
		if !waitUntil(ctx, func() bool { return first.Received() > held }) {
			return
		}
		_ = first.Close()
		second, secondErr = NewEchoSink(addr, iso.Binary2)
		if secondErr != nil {
			cancel()
			return
		}
		waitUntil(ctx, func() bool { return second.openConns() == 2 && second.Received() >= 200 })
		cancel()
	}()
	res, err := runBounded(t, ctx, Config{
		Target: addr, Conns: 2, Rate: 1000, Duration: 24 * time.Hour, Timeout: HistogramMax, Cards: SyntheticCards(10, 1),
	})
	require.ErrorIs(t, err, context.Canceled)
	<-restarted
	require.NoError(t, secondErr, "the second sink started")
	require.NotNil(t, second, "the second sink started")
	defer second.Close()
	assert.GreaterOrEqual(t, res.Reconnects, int64(2), "both connections came back")
	assert.Positive(t, res.ErrorsConnLost, "requests in flight when the host went away are errors")
	assert.Equal(t, res.ErrorsConnLost+res.ErrorsUnsent, res.Errors)
	assert.Equal(t, res.Offered, res.Replies+res.Errors+res.Timeouts)
	assert.Zero(t, res.Timeouts)
	assert.GreaterOrEqual(t, res.Replies, second.Received(), "everything the new host read was answered")
}

// TestRunStopsWithContext cancels a day-long run once the host has
// answered some of it: Run returns with the context's error and reports
// what it measured until then, not the day it was asked for.
func TestRunStopsWithContext(t *testing.T) {
	t.Parallel()
	sink, err := NewEchoSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer sink.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for sink.Received() < 50 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	const day = 24 * time.Hour
	res, err := runBounded(t, ctx, Config{Target: sink.Addr(), Rate: 500, Duration: day, Cards: SyntheticCards(3, 1)})
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, res, "a stopped run still reports")
	assert.GreaterOrEqual(t, sink.Received(), int64(50))
	assert.Positive(t, res.MeasuredSeconds)
	assert.Less(t, res.MeasuredSeconds, day.Seconds(), "the measured time is the time run, not the time asked for")
	assert.Positive(t, res.Offered)
	assert.Equal(t, res.Offered, res.Replies)
}

func TestRunFailsFastWithoutHost(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	_, err = Run(context.Background(), Config{Target: addr, Cards: SyntheticCards(1, 1)}, nil)
	require.Error(t, err)
	_, err = Run(context.Background(), Config{Target: addr}, nil)
	require.ErrorContains(t, err, "Cards")
}

// TestFallbackWithoutOriginal: a clearing, reversal or repeat drawn while
// no original is at hand is sent as an authorization and counted as a
// fallback; with an original at hand it uses it.
func TestFallbackWithoutOriginal(t *testing.T) {
	for _, tc := range []struct {
		name string
		mix  Mix
		kind Kind
		mti  string
	}{
		{"clearing", Mix{Clear: 100}, KindClear, "0220"},
		{"reversal", Mix{Reversal: 100}, KindReversal, "0400"},
		{"repeat", Mix{Repeat: 100}, KindRepeat, "0101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &runner{cfg: Config{Target: "127.0.0.1:1", Conns: 1, Mix: tc.mix, Seed: 1, Cards: SyntheticCards(3, 1)}.withDefaults()}
			require.NoError(t, r.cfg.validate())
			require.NoError(t, r.prepare())
			c := r.conns[0]

			var s slot
			c.next(&s, 0)
			assert.Equal(t, KindAuth, s.kind, "no original: an authorization")
			assert.Equal(t, "0100", string(s.p.mti[:]))
			assert.Equal(t, int64(1), c.fallbacks)

			orig := s.p
			orig.auth = [6]byte{'A', 'B', 'C', '1', '2', '3'}
			c.approved.push(orig)
			c.repeats.push(repeatable{p: orig, code: [2]byte{'0', '0'}})
			c.next(&s, 0)
			assert.Equal(t, tc.kind, s.kind, "an original at hand is used")
			assert.Equal(t, tc.mti, string(s.p.mti[:]))
			assert.Equal(t, orig.rrn, s.p.rrn)
			assert.Equal(t, orig.card, s.p.card)
			assert.Equal(t, int64(1), c.fallbacks, "no fallback when an original is at hand")
		})
	}
}

// TestAcquirerMixAgainstEchoSink: every kind of the acquirer's mix is
// built, sent, matched (an echo test by its STAN alone) and answered.
func TestAcquirerMixAgainstEchoSink(t *testing.T) {
	t.Parallel()
	sink, err := NewEchoSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer sink.Close()
	res, err := Run(context.Background(), Config{
		Target: sink.Addr(), Conns: 2, Rate: 4000, Duration: 500 * time.Millisecond, Mix: AcquirerMix, Seed: 3,
		Cards: SyntheticCards(20, 1),
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, res.Offered, res.Replies)
	assert.Zero(t, res.UnmatchedReplies)
	assert.Zero(t, res.TimeoutReversals)
	for _, k := range []Kind{KindPartial, KindIncrement, KindAdvice, KindFinancial, KindReversalAdvice, KindEcho} {
		assert.Positive(t, res.Kinds[k.String()].Replies, "%s", k)
		assert.Zero(t, res.Kinds[k.String()].Unexpected, "%s: the sink approves everything", k)
	}
}

// TestEveryFramingAgainstEchoSink: the generator and its echo sink speak
// every framing to each other; with binary2-tpdu the sink swaps the TPDU
// the generator sent and the generator finds it so.
func TestEveryFramingAgainstEchoSink(t *testing.T) {
	t.Parallel()
	for _, f := range []iso.Framing{iso.Binary2, iso.ASCII4, iso.Binary4, iso.Binary2TPDU} {
		t.Run(f.String(), func(t *testing.T) {
			sink, err := NewEchoSink("127.0.0.1:0", f)
			require.NoError(t, err)
			defer sink.Close()
			res, err := Run(context.Background(), Config{
				Target: sink.Addr(), Framing: f, Conns: 2, Rate: 2000, Duration: 200 * time.Millisecond, Mix: AcquirerMix,
				Seed: 5, Cards: SyntheticCards(10, 1),
			}, nil)
			require.NoError(t, err)
			assert.Equal(t, f.String(), res.Framing)
			assert.Positive(t, res.Replies)
			assert.Equal(t, res.Offered, res.Replies)
			assert.Zero(t, res.DecodeErrors)
			assert.Zero(t, res.UnmatchedReplies)
			assert.Zero(t, res.Errors)
			assert.Equal(t, res.Sent, sink.Received())
		})
	}
}

// TestRepliesWithTheWrongTPDU: a host that sends the TPDU back as it came,
// without swapping its addresses, has every reply counted as a decode
// error rather than matched.
func TestRepliesWithTheWrongTPDU(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		fr := iso.NewFrameReader(nc, iso.Binary2TPDU, 0)
		for {
			frame, err := fr.Next()
			if err != nil {
				return
			}
			out, err := iso.AppendFrame(nil, iso.Binary2TPDU, fr.TPDU(), echoReply(nil, frame))
			if err != nil {
				return
			}
			if _, err := nc.Write(out); err != nil {
				return
			}
		}
	}()
	res, err := Run(context.Background(), Config{
		Target: ln.Addr().String(), Framing: iso.Binary2TPDU, Conns: 1, Rate: 500, Duration: 100 * time.Millisecond,
		Timeout: 200 * time.Millisecond, Mix: Mix{Auth: 100}, Seed: 5, Cards: SyntheticCards(4, 1),
	}, nil)
	require.NoError(t, err)
	assert.Positive(t, res.Sent)
	assert.Zero(t, res.Replies)
	assert.Positive(t, res.DecodeErrors)
	assert.Positive(t, res.Timeouts, "requests whose replies were refused time out")
}
