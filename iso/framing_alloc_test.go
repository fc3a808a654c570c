package iso

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loopReader serves the same stream of frames over and over, in reads of
// whatever size the caller asks for, so frames straddle reads as they do
// on a socket.
type loopReader struct {
	data []byte
	pos  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.pos:])
		n += c
		l.pos = (l.pos + c) % len(l.data)
	}
	return n, nil
}

// TestFramingsAllocateNoMoreThanBinary2: the reader's batch-per-read path
// (read, take the frames, decide, encode every reply behind its header) is
// the same for every framing, TPDU included: a framing costs no allocation
// per message that binary2 does not. The only allocations left on that
// path are the string arenas detach fills, about one per hundred
// requests, whatever the framing.
func TestFramingsAllocateNoMoreThanBinary2(t *testing.T) {
	msg := mustPack(t, sampleRequest())
	const perRun = 1000
	allocs := map[Framing]float64{}
	for _, f := range []Framing{Binary2, ASCII4, Binary4, Binary2TPDU} {
		srv, err := NewServer(Config{Framing: f, Logger: slog.New(slog.DiscardHandler)}, approveFast{})
		require.NoError(t, err)
		var stream bytes.Buffer
		for i := range 7 {
			require.NoError(t, WriteFrameTPDU(&stream, f, NewTPDU(uint16(i), 9), msg))
		}
		c := &conn{srv: srv, fr: newConnFrameReader(&loopReader{data: stream.Bytes()}, f, srv.cfg.MaxFrameBytes)}
		ctx := context.Background()
		hb := f.LengthBytes() + f.TPDUBytes()
		run := func() {
			for done := 0; done < perRun; {
				b, err := c.take(perRun - done)
				if err != nil {
					t.Fatal(err)
				}
				if b == nil {
					if err := c.fr.readOnce(); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := srv.decideBatch(ctx, b); err != nil {
					t.Fatal(err)
				}
				for i := range b.jobs {
					j := &b.jobs[i]
					if f == Binary2TPDU && !bytes.Equal(b.out[j.at+2:j.at+hb], j.tpdu[:]) {
						t.Fatal("reply without its TPDU")
					}
				}
				done += len(b.jobs)
				b.reset()
				c.spare = append(c.spare, b)
			}
		}
		run() // warm up: buffers grow to what the connection needs
		allocs[f] = testing.AllocsPerRun(20, run) / perRun
	}
	t.Logf("allocations per message: %v", allocs)
	for f, a := range allocs {
		// One allocation per message would count 1.
		assert.Less(t, a, 0.05, "%s allocates per message", f)
		if !raceEnabled { // the race detector's sync.Pool drops arenas at random
			assert.LessOrEqual(t, a, allocs[Binary2], "%s allocates more per message than binary2", f)
		}
	}
}
