package iso_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
)

// batchFunc is a Handler made of a function, for tests that look at the
// batches themselves.
type batchFunc func(ctx context.Context, reqs []*iso.Request, out []iso.Response)

func (f batchFunc) HandleBatch(ctx context.Context, reqs []*iso.Request, out []iso.Response) {
	f(ctx, reqs, out)
}

// framesOf packs authorization requests with the given STANs, framed, back
// to back, as one write sends them.
func framesOf(t *testing.T, stans ...int) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, stan := range stans {
		b, err := message(t, "0100", authFields(stan, 10)).Pack()
		require.NoError(t, err)
		require.NoError(t, iso.WriteFrame(&buf, iso.Binary2, b))
	}
	return buf.Bytes()
}

// readReplies reads n replies and returns them by STAN.
func readReplies(t *testing.T, nc net.Conn, n int) map[string]*iso.Reply {
	t.Helper()
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(hangTimeout)))
	fr := iso.NewFrameReader(nc, iso.Binary2, 0)
	got := map[string]*iso.Reply{}
	for range n {
		f, err := fr.Next()
		require.NoError(t, err)
		rep, err := iso.UnpackResponse(f)
		require.NoError(t, err)
		got[rep.STAN] = rep
	}
	return got
}

// assertNothingToRead checks that no reply byte arrives while a decision
// is held back. A short wait can only miss a reply that leaves too early,
// never fail a correct server.
func assertNothingToRead(t *testing.T, nc net.Conn, why string) {
	t.Helper()
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	one := make([]byte, 1)
	_, err := nc.Read(one)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "%s (err %v)", why, err)
}

// TestEveryRequestOfOneReadIsOneBatch: the requests one read delivers are
// decided in one HandleBatch call, in order, and their replies all come
// back. The first request's decision is held until the next ten have been
// written in one write, so they wait together in the socket for the next
// read.
func TestEveryRequestOfOneReadIsOneBatch(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var batches [][]string
	h := batchFunc(func(_ context.Context, reqs []*iso.Request, out []iso.Response) {
		var stans []string
		for i, r := range reqs {
			stans = append(stans, r.STAN)
			out[i] = iso.Response{Code: "00", AuthCode: "BATCH1"}
		}
		mu.Lock()
		batches = append(batches, stans)
		first := len(batches) == 1
		mu.Unlock()
		if first {
			close(entered)
			<-release
		}
	})
	ts := startServer(t, iso.Config{}, h)
	nc := dialRaw(t, ts.addr)
	_, err := nc.Write(framesOf(t, 1))
	require.NoError(t, err)
	<-entered
	stans := []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	_, err = nc.Write(framesOf(t, stans...))
	require.NoError(t, err)
	close(release)

	got := readReplies(t, nc, 11)
	for i := 1; i <= 11; i++ {
		rep := got[fmt.Sprintf("%06d", i)]
		require.NotNil(t, rep, "STAN %d", i)
		assert.Equal(t, "BATCH1", rep.AuthCode)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, batches, 2, "ten requests that arrived together are decided together: %v", batches)
	assert.Equal(t, []string{"000001"}, batches[0])
	assert.Equal(t, []string{"000002", "000003", "000004", "000005", "000006", "000007", "000008", "000009", "000010", "000011"}, batches[1])
	ts.obs.waitFor(t, func(r *recorder) bool { return r.messages["0100/00"] == 11 })
}

// TestReaderDecidesWhileTheWriterWaitsForTheSync: while one batch waits for
// its sync, later reads are decided (the next sync can cover them), and no
// reply leaves before its own decision is durable: not the held one, and
// not those behind it, which are written once everything before them is.
func TestReaderDecidesWhileTheWriterWaitsForTheSync(t *testing.T) {
	syncs := map[string]chan struct{}{"000001": make(chan struct{}), "000002": make(chan struct{})}
	decided := make(chan string, 16)
	h := handlerFunc(func(_ context.Context, req *iso.Request) iso.Response {
		decided <- req.STAN
		gate, ok := syncs[req.STAN]
		if !ok {
			return iso.Response{Code: "00", AuthCode: "NOWAIT"}
		}
		return iso.Response{Code: "00", AuthCode: "SYNCED", Durable: waitFunc(func() error { <-gate; return nil })}
	})
	ts := startServer(t, iso.Config{}, h)
	nc := dialRaw(t, ts.addr)

	_, err := nc.Write(framesOf(t, 1))
	require.NoError(t, err)
	require.Equal(t, "000001", <-decided)
	// The first decision's sync is held; the second read is decided all
	// the same.
	_, err = nc.Write(framesOf(t, 2, 3))
	require.NoError(t, err)
	require.Equal(t, "000002", <-decided)
	require.Equal(t, "000003", <-decided)
	assertNothingToRead(t, nc, "a reply left before its decision was durable")

	// The second batch's sync completing first releases nothing: the
	// first batch is still not durable, and replies go out in order.
	close(syncs["000002"])
	assertNothingToRead(t, nc, "a reply overtook a decision that is not durable yet")

	close(syncs["000001"])
	got := readReplies(t, nc, 3)
	assert.Equal(t, "SYNCED", got["000001"].AuthCode)
	assert.Equal(t, "SYNCED", got["000002"].AuthCode)
	assert.Equal(t, "NOWAIT", got["000003"].AuthCode)
}

// TestBatchHandlerPanicAnswers96: a batch handler that panics gets "96"
// for every request it had not answered, keeps the answers it had given,
// and the connection goes on.
func TestBatchHandlerPanicAnswers96(t *testing.T) {
	var calls sync.WaitGroup
	calls.Add(1)
	first := true
	var mu sync.Mutex
	h := batchFunc(func(_ context.Context, reqs []*iso.Request, out []iso.Response) {
		mu.Lock()
		boom := first
		first = false
		mu.Unlock()
		for i := range reqs {
			if boom && i == 1 {
				panic("batch handler panic")
			}
			out[i] = iso.Response{Code: "00", AuthCode: "GIVEN1"}
		}
	})
	ts := startServer(t, iso.Config{}, h)
	nc := dialRaw(t, ts.addr)
	_, err := nc.Write(framesOf(t, 1, 2, 3))
	require.NoError(t, err)
	got := readReplies(t, nc, 3)
	if len(got) != 3 {
		t.Fatalf("got %d replies", len(got))
	}
	// Whether the three came in one read or more, the first request
	// decided is answered and the one that panicked is a 96.
	assert.Equal(t, "00", got["000001"].Code)
	assert.Equal(t, "96", got["000002"].Code)
	_, err = nc.Write(framesOf(t, 4))
	require.NoError(t, err)
	assert.Equal(t, "00", readReplies(t, nc, 1)["000004"].Code)
	assert.Contains(t, ts.logs.String(), "handler panicked")
}

// echoFrame is a framed 0800 echo test.
func echoFrame(t *testing.T, stan int) []byte {
	t.Helper()
	b, err := message(t, "0800", map[int]string{7: "1121101500", 11: fmt.Sprintf("%06d", stan), 70: "301"}).Pack()
	require.NoError(t, err)
	return frameOf(t, iso.Binary2, b)
}

// echo sends an 0800 on nc and waits for its 0810.
func echo(t *testing.T, nc net.Conn, stan int) {
	t.Helper()
	_, err := nc.Write(echoFrame(t, stan))
	require.NoError(t, err)
	rep := readReplies(t, nc, 1)[fmt.Sprintf("%06d", stan)]
	require.NotNil(t, rep)
	require.Equal(t, "00", rep.Code)
}

// TestMaxConnsRefusesBeyondTheLimit: with MaxConns open, the next
// connection is closed at once, counted and logged; once one closes, a new
// one is served.
func TestMaxConnsRefusesBeyondTheLimit(t *testing.T) {
	const limit = 3
	ts := startServer(t, iso.Config{MaxConns: limit, CloseLogInterval: time.Hour}, newTestHandler())
	open := make([]net.Conn, limit)
	for i := range open {
		open[i] = dialRaw(t, ts.addr)
		echo(t, open[i], i+1) // served, so counted as open
	}
	for range 2 {
		extra := dialRaw(t, ts.addr)
		waitClosed(t, extra)
	}
	ts.obs.waitFor(t, func(r *recorder) bool { return r.refused == 2 })
	for i := range open {
		echo(t, open[i], 10+i) // the others are untouched
	}
	assert.Equal(t, 1, strings.Count(ts.logs.String(), "refusing connection"), "logged once per interval")

	require.NoError(t, open[0].Close())
	ts.obs.waitFor(t, func(r *recorder) bool { return r.closed == 1 })
	again := dialRaw(t, ts.addr)
	echo(t, again, 20)
	ts.obs.mu.Lock()
	defer ts.obs.mu.Unlock()
	assert.Equal(t, 2, ts.obs.refused)
}

// TestFrameTimeoutCutsSlowSenders: a peer that sends a frame one byte at a
// time is cut off FrameTimeout after the first byte, though it is never
// silent for ReadIdleTimeout; a frame that arrives whole is not affected.
func TestFrameTimeoutCutsSlowSenders(t *testing.T) {
	ts := startServer(t, iso.Config{FrameTimeout: 100 * time.Millisecond, ReadIdleTimeout: time.Hour}, newTestHandler())
	quick := dialRaw(t, ts.addr)
	echo(t, quick, 1)

	slow := dialRaw(t, ts.addr)
	frame := framesOf(t, 2)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// A byte every 10 ms: the frame would take seconds to arrive,
		// and the peer is never idle for long.
		for _, b := range frame {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := slow.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	waitClosed(t, slow)
	ts.obs.waitFor(t, func(r *recorder) bool { return r.frameErrors[iso.ReasonFrameTimeout] == 1 })
	echo(t, quick, 3)
	assert.Zero(t, ts.obs.frameErrorCount(iso.ReasonReadTimeout))
}

// TestProtocolClosesAreCountedAndLoggedOncePerInterval: every connection
// closed for a protocol reason is counted under its reason, but each
// reason is logged once per CloseLogInterval.
func TestProtocolClosesAreCountedAndLoggedOncePerInterval(t *testing.T) {
	ts := startServer(t, iso.Config{CloseLogInterval: time.Hour}, newTestHandler())
	const bad = 20
	for range bad {
		nc := dialRaw(t, ts.addr)
		_, err := nc.Write(append([]byte{0, 8}, "ABCDEFGH"...))
		require.NoError(t, err)
		waitClosed(t, nc)
		nc = dialRaw(t, ts.addr)
		_, err = nc.Write([]byte{0, 0})
		require.NoError(t, err)
		waitClosed(t, nc)
	}
	ts.obs.waitFor(t, func(r *recorder) bool {
		return r.frameErrors[iso.ReasonBadMTI] == bad && r.frameErrors[iso.ReasonBadLength] == bad
	})
	logs := ts.logs.String()
	assert.Equal(t, 1, strings.Count(logs, "reason=bad_mti"), logs)
	assert.Equal(t, 1, strings.Count(logs, "reason=bad_length"), logs)
}

// TestProtocolCloseLogSaysWhatItLeftOut: after the interval, the next line
// for a reason gives how many were not logged.
func TestProtocolCloseLogSaysWhatItLeftOut(t *testing.T) {
	ts := startServer(t, iso.Config{CloseLogInterval: time.Nanosecond}, newTestHandler())
	for range 3 {
		nc := dialRaw(t, ts.addr)
		_, err := nc.Write([]byte{0, 0})
		require.NoError(t, err)
		waitClosed(t, nc)
	}
	ts.obs.waitFor(t, func(r *recorder) bool { return r.frameErrors[iso.ReasonBadLength] == 3 })
	// With an interval this short every close is logged, each saying
	// none was left out.
	logs := ts.logs.String()
	assert.Equal(t, 3, strings.Count(logs, "reason=bad_length"), logs)
	assert.Equal(t, 3, strings.Count(logs, "suppressed=0"), logs)
}

// idleConnBytesMax is the most memory, heap and goroutine stacks together,
// an idle connection may hold on the server once it has been used: the
// goroutines, the read buffer, and a batch sized for one request. With
// two channels of MaxInFlightPerConn replies made up front it was about
// 240 KB.
const idleConnBytesMax = 32 << 10

// TestIdleConnectionMemory opens many loopback connections, has each send
// one echo so its buffers are in use, and measures what they hold once
// idle: heap plus stacks, per connection, client side included.
func TestIdleConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens hundreds of connections")
	}
	const n = 300
	ts := startServer(t, iso.Config{}, newTestHandler())
	// Warm up: one connection through every path, so what is measured is
	// per connection and not the first use of a pool or a codec table.
	warm := dialRaw(t, ts.addr)
	echo(t, warm, 1)

	before := memInUse()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dialRaw(t, ts.addr)
		echo(t, conns[i], i+2)
	}
	ts.obs.waitFor(t, func(r *recorder) bool { return r.opened == n+1 })
	after := memInUse()
	perConn := (int64(after) - int64(before)) / n
	t.Logf("%d idle connections: %d bytes each (heap and stacks, both ends)", n, perConn)
	assert.LessOrEqual(t, perConn, int64(idleConnBytesMax), "memory per idle connection")
	runtime.KeepAlive(conns)
}

// memInUse is the live heap plus goroutine stacks after a collection.
func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}
