package loadtest

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
)

// batchHost is an ISO 8583 host for tests of how the generator gathers
// its writes: it answers like EchoSink, one write per read, and records
// the most request frames one read brought. With stallFirst it never
// reads from its first connection, whose receive buffer it shrinks, like a
// server that stopped.
type batchHost struct {
	ln         net.Listener
	stallFirst bool
	maxPerRead atomic.Int64
	requests   atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newBatchHost(t *testing.T, stallFirst bool) *batchHost {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &batchHost{ln: ln, stallFirst: stallFirst}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for n := 0; ; n++ {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, nc)
			h.mu.Unlock()
			if n == 0 && h.stallFirst {
				_ = nc.(*net.TCPConn).SetReadBuffer(4096)
				continue
			}
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				h.echo(nc)
			}()
		}
	}()
	t.Cleanup(h.close)
	return h
}

func (h *batchHost) echo(nc net.Conn) {
	buf := make([]byte, 64<<10)
	var out, msg []byte
	start, end := 0, 0
	for {
		if start == end {
			start, end = 0, 0
		}
		n, err := nc.Read(buf[end:])
		if err != nil {
			return
		}
		end += n
		out = out[:0]
		frames := int64(0)
		for end-start >= 2 {
			size := int(buf[start])<<8 | int(buf[start+1])
			if end-start < 2+size {
				break
			}
			msg = echoReply(msg[:0], buf[start+2:start+2+size])
			out = appendFrame(out, iso.Binary2, iso.TPDU{}, msg)
			start += 2 + size
			frames++
		}
		h.requests.Add(frames)
		for prev := h.maxPerRead.Load(); frames > prev && !h.maxPerRead.CompareAndSwap(prev, frames); prev = h.maxPerRead.Load() {
		}
		if start > 0 {
			end = copy(buf, buf[start:end])
			start = 0
		}
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}

func (h *batchHost) close() {
	_ = h.ln.Close()
	h.mu.Lock()
	for _, nc := range h.conns {
		_ = nc.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// TestRequestsDueInOneTickGoOutInOneWrite runs with a 10 ms tick at
// 2,000/s over 2 connections: each wake-up finds about ten requests due
// per connection and writes them at once, every one is answered and
// matched, and the wait for the tick is part of each latency, which runs
// from the due time.
func TestRequestsDueInOneTickGoOutInOneWrite(t *testing.T) {
	t.Parallel()
	host := newBatchHost(t, false)
	res, err := Run(context.Background(), Config{
		Target: host.ln.Addr().String(), Conns: 2, Rate: 2000, Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Tick: 10 * time.Millisecond, Cards: SyntheticCards(20, 1),
	}, nil)
	require.NoError(t, err)

	assert.Equal(t, res.Offered, res.Sent)
	assert.Equal(t, res.Offered, res.Replies, "every request answered and matched")
	assert.Zero(t, res.UnmatchedReplies)
	assert.Zero(t, res.LateReplies)
	assert.Zero(t, res.Timeouts)
	assert.Zero(t, res.Errors)
	assert.Greater(t, host.maxPerRead.Load(), int64(1), "requests due in one tick arrived together")
	// Wake-ups are at least a tick apart, so a request due just after one
	// waits nearly a tick for the next: the send lag shows it, and the
	// latency, timed from the due time, includes it.
	assert.GreaterOrEqual(t, res.SendLag.Max, 5*time.Millisecond)
	assert.GreaterOrEqual(t, res.Latency.Max, res.SendLag.Max)
	assert.GreaterOrEqual(t, res.Latency.Mean, res.SendLag.Mean)
}

// TestStalledConnectionDoesNotHoldOthersUp has a host that never reads
// from the first connection: the generator's writes to it are not taken,
// its requests time out, those it could not queue (a megabyte of them,
// more than the kernel's send buffer, held small, and the generator's
// queue hold) unsent, and the
// other connection, written by the same goroutine, is answered
// throughout.
func TestStalledConnectionDoesNotHoldOthersUp(t *testing.T) {
	t.Parallel()
	host := newBatchHost(t, true)
	start := time.Now()
	cfg := Config{
		Target: host.ln.Addr().String(), Conns: 2, Rate: 10_000, Duration: time.Second,
		Timeout: time.Second, Cards: SyntheticCards(20, 1),
	}
	cfg.sendBufferBytes = 16 << 10
	res, err := Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 30*time.Second, "the run ends though one connection never drains")

	assert.Zero(t, res.Errors)
	assert.Equal(t, res.Offered, res.Replies+res.Timeouts)
	// Connection 1 carries every second request (constant arrivals). Had
	// the stalled connection's writes blocked the clock, it would have
	// stopped within the first few hundred.
	assert.LessOrEqual(t, res.Replies, res.Offered/2+1)
	assert.GreaterOrEqual(t, res.Replies, res.Offered*2/5, "the answering connection went on")
	assert.GreaterOrEqual(t, res.Timeouts, res.Offered/2-1, "every request on the stalled connection timed out")
	t.Logf("offered %d sent %d timeouts %d unsent %d", res.Offered, res.Sent, res.Timeouts, res.TimeoutsUnsent)
	assert.Positive(t, res.TimeoutsUnsent, "requests the stalled connection could not take were never sent")
}

// TestRawWriteDoesNotAllocate: the clock writes to every connection at
// every tick, so a write must not allocate.
func TestRawWriteDoesNotAllocate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	peer, err := ln.Accept()
	require.NoError(t, err)
	defer peer.Close()
	w := newRawWriter(nc)
	msg := make([]byte, 100)
	allocs := testing.AllocsPerRun(100, func() {
		if n, err := w.write(msg); err != nil || n != len(msg) {
			t.Fatalf("wrote %d, %v", n, err)
		}
	})
	assert.Zero(t, allocs)
}
