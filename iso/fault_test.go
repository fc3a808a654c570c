package iso_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
)

// faultHandler approves everything, applies the fault listed for a STAN,
// and remembers every STAN it decided.
type faultHandler struct {
	faults  map[string]iso.Fault
	mu      sync.Mutex
	decided []string
	notify  chan string // when set, told every STAN decided
}

func (h *faultHandler) HandleBatch(_ context.Context, reqs []*iso.Request, out []iso.Response) {
	for i, r := range reqs {
		out[i] = iso.Response{Code: "00", AuthCode: "FAULT1", Fault: h.faults[r.STAN]}
		h.mu.Lock()
		h.decided = append(h.decided, r.STAN)
		h.mu.Unlock()
		if h.notify != nil {
			h.notify <- r.STAN
		}
	}
}

func (h *faultHandler) decidedSTANs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.decided...)
}

// readSTANs reads replies until want have come or the server closes the
// connection, and returns their STANs in the order they arrived.
func readSTANs(t *testing.T, nc net.Conn, want int) (stans []string, closed bool) {
	t.Helper()
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(hangTimeout)))
	fr := iso.NewFrameReader(nc, iso.Binary2, 0)
	for len(stans) < want {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return stans, true
		}
		require.NoError(t, err)
		rep, err := iso.UnpackResponse(f)
		require.NoError(t, err)
		stans = append(stans, rep.STAN)
	}
	return stans, false
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

func stan(n int) string { return "00000" + strconv.Itoa(n) }

// TestFaultsOnTheWire sends three requests in one write; the middle one
// carries a fault. Every request is decided whatever its fault, and the
// replies keep their order.
func TestFaultsOnTheWire(t *testing.T) {
	tests := []struct {
		name       string
		fault      iso.Fault
		want       []string // the STANs of the replies, in order
		wantClosed bool
		messages   int // replies the Observer is told of
	}{
		{"none", iso.Fault{}, []string{stan(1), stan(2), stan(3)}, false, 3},
		{"noReply", iso.Fault{Action: iso.FaultNoReply}, []string{stan(1), stan(3)}, false, 2},
		{"duplicateReply", iso.Fault{Action: iso.FaultDuplicate}, []string{stan(1), stan(2), stan(2), stan(3)}, false, 3},
		{"delay", iso.Fault{Action: iso.FaultDelay, Delay: 20 * time.Millisecond}, []string{stan(1), stan(2), stan(3)}, false, 3},
		{"closeConnection", iso.Fault{Action: iso.FaultClose}, []string{stan(1)}, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &faultHandler{faults: map[string]iso.Fault{stan(2): tc.fault}}
			ts := startServer(t, iso.Config{}, h)
			nc := dialRaw(t, ts.addr)
			_, err := nc.Write(framesOf(t, 1, 2, 3))
			require.NoError(t, err)
			want := len(tc.want)
			if tc.wantClosed {
				want++ // more than come: read until the close
			}
			got, closed := readSTANs(t, nc, want)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.wantClosed, closed, "got %v", got)
			if !closed {
				assertNothingToRead(t, nc, "no reply beyond those expected")
			}
			require.Equal(t, []string{stan(1), stan(2), stan(3)}, h.decidedSTANs(), "every request is decided")
			ts.obs.waitFor(t, func(r *recorder) bool { return r.messages["0100/00"] == tc.messages && r.inFlight == 0 })
		})
	}
}

// TestDelayedReplyHoldsOnlyWhatFollowsIt: a reply delayed for an hour
// lets the replies before it go, holds those after it (replies keep their
// order), does not stop the connection reading and deciding, and does not
// hold up a Shutdown whose deadline passes.
func TestDelayedReplyHoldsOnlyWhatFollowsIt(t *testing.T) {
	h := &faultHandler{faults: map[string]iso.Fault{stan(2): {Action: iso.FaultDelay, Delay: time.Hour}},
		notify: make(chan string, 8)}
	srv, err := iso.NewServer(iso.Config{Logger: slog.New(slog.DiscardHandler)}, h)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()

	nc := dialRaw(t, ln.Addr().String())
	_, err = nc.Write(framesOf(t, 1, 2))
	require.NoError(t, err)
	got, closed := readSTANs(t, nc, 1)
	require.False(t, closed)
	require.Equal(t, []string{stan(1)}, got)
	require.Equal(t, stan(1), <-h.notify)
	require.Equal(t, stan(2), <-h.notify)

	_, err = nc.Write(framesOf(t, 3))
	require.NoError(t, err)
	require.Equal(t, stan(3), <-h.notify, "the connection reads and decides while a reply waits")
	assertNothingToRead(t, nc, "the reply behind the delayed one waits for it")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, srv.Shutdown(ctx), context.DeadlineExceeded)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(hangTimeout)))
	waitClosed(t, nc)
}
