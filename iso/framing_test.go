package iso_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"testing"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
)

var allFramings = []iso.Framing{iso.Binary2, iso.ASCII4, iso.Binary4, iso.Binary2TPDU}

// moovFraming is how moov-io's client speaks a framing: the length reader
// and writer it takes. For binary2-tpdu the writer puts the TPDU after the
// length and counts it, and the reader takes the reply's TPDU off and keeps
// it, so what moov-io packs and unpacks is the message alone.
type moovFraming struct {
	read  connection.MessageLengthReader
	write connection.MessageLengthWriter

	sent iso.TPDU // what the writer sends (binary2-tpdu)
	mu   sync.Mutex
	got  []iso.TPDU // what the reader received
}

func newMoovFraming(f iso.Framing, sent iso.TPDU) *moovFraming {
	m := &moovFraming{sent: sent}
	switch f {
	case iso.Binary2:
		m.read, m.write = binary2Reader, binary2Writer
	case iso.ASCII4:
		m.read, m.write = ascii4Reader, ascii4Writer
	case iso.Binary4:
		m.read = func(r io.Reader) (int, error) {
			var h [4]byte
			if _, err := io.ReadFull(r, h[:]); err != nil {
				return 0, err
			}
			return int(binary.BigEndian.Uint32(h[:])), nil
		}
		m.write = func(w io.Writer, n int) (int, error) {
			var h [4]byte
			binary.BigEndian.PutUint32(h[:], uint32(n))
			return w.Write(h[:])
		}
	case iso.Binary2TPDU:
		m.read = func(r io.Reader) (int, error) {
			var h [2 + iso.TPDUSize]byte
			if _, err := io.ReadFull(r, h[:]); err != nil {
				return 0, err
			}
			n := int(binary.BigEndian.Uint16(h[:2]))
			if n < iso.TPDUSize {
				return 0, fmt.Errorf("reply length %d shorter than its TPDU", n)
			}
			m.mu.Lock()
			m.got = append(m.got, iso.TPDU(h[2:]))
			m.mu.Unlock()
			return n - iso.TPDUSize, nil
		}
		m.write = func(w io.Writer, n int) (int, error) {
			var h [2 + iso.TPDUSize]byte
			binary.BigEndian.PutUint16(h[:2], uint16(n+iso.TPDUSize))
			copy(h[2:], m.sent[:])
			return w.Write(h[:])
		}
	}
	return m
}

func (m *moovFraming) received() []iso.TPDU {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]iso.TPDU(nil), m.got...)
}

// TestEveryFramingEndToEnd: moov-io's client, speaking each framing with
// its own length reader and writer, gets its echo test and its pipelined
// authorizations answered over TCP; with binary2-tpdu every reply carries
// the request's TPDU with destination and source swapped.
func TestEveryFramingEndToEnd(t *testing.T) {
	for _, f := range allFramings {
		t.Run(f.String(), func(t *testing.T) {
			h := newTestHandler()
			ts := startServer(t, iso.Config{Framing: f}, h)
			sent := iso.NewTPDU(0x0123, 0x4567)
			mf := newMoovFraming(f, sent)
			c, err := connection.New(ts.addr, iso.Spec(), mf.read, mf.write,
				connection.SendTimeout(hangTimeout), connection.ConnectTimeout(hangTimeout))
			require.NoError(t, err)
			require.NoError(t, c.Connect())
			t.Cleanup(func() { _ = c.Close() })

			resp, err := c.Send(message(t, "0800", map[int]string{7: "1121095500", 11: "000001", 70: "301"}))
			require.NoError(t, err)
			assert.Equal(t, "0810", mti(t, resp))
			assert.Equal(t, "00", get(t, resp, 39))

			const n = 40
			var wg sync.WaitGroup
			codes := make([]string, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					amount := int64(100 + i)
					if i%4 == 3 {
						amount = 200_000 // above the handler's threshold: 51
					}
					resp, err := c.Send(message(t, "0100", authFields(2+i, amount)))
					if assert.NoError(t, err) {
						codes[i] = get(t, resp, 39)
						assert.Equal(t, fmt.Sprintf("%06d", 2+i), get(t, resp, 11))
					}
				}()
			}
			wg.Wait()
			for i, code := range codes {
				want := "00"
				if i%4 == 3 {
					want = "51"
				}
				assert.Equal(t, want, code, "request %d", i)
			}
			assert.Equal(t, int64(n), h.calls.Load())

			got := mf.received()
			if f == iso.Binary2TPDU {
				require.Len(t, got, n+1)
				for _, tp := range got {
					assert.Equal(t, iso.TPDU{0x60, 0x45, 0x67, 0x01, 0x23}, tp)
				}
			} else {
				assert.Empty(t, got)
			}
		})
	}
}

// TestTPDUEchoedPerMessage: requests pipelined in one write, each with a
// TPDU of its own, get each their own TPDU back, swapped, however the
// server batches them.
func TestTPDUEchoedPerMessage(t *testing.T) {
	h := newTestHandler()
	ts := startServer(t, iso.Config{Framing: iso.Binary2TPDU}, h)
	nc := dialRaw(t, ts.addr)
	const n = 100
	var batch bytes.Buffer
	for i := 1; i <= n; i++ {
		b, err := message(t, "0100", authFields(i, 10)).Pack()
		require.NoError(t, err)
		require.NoError(t, iso.WriteFrameTPDU(&batch, iso.Binary2TPDU, iso.NewTPDU(uint16(i), uint16(0x8000+i)), b))
	}
	// The echo test too: the package answers it by itself.
	b, err := message(t, "0800", map[int]string{7: "1121095500", 11: "999999", 70: "301"}).Pack()
	require.NoError(t, err)
	require.NoError(t, iso.WriteFrameTPDU(&batch, iso.Binary2TPDU, iso.NewTPDU(0xBEEF, 0xCAFE), b))
	_, err = nc.Write(batch.Bytes())
	require.NoError(t, err)

	fr := iso.NewFrameReader(nc, iso.Binary2TPDU, 0)
	for range n + 1 {
		f, err := fr.Next()
		require.NoError(t, err)
		rep, err := iso.UnpackResponse(f)
		require.NoError(t, err)
		assert.Equal(t, "00", rep.Code)
		if rep.STAN == "999999" {
			assert.Equal(t, iso.NewTPDU(0xCAFE, 0xBEEF), fr.TPDU())
			continue
		}
		var i int
		_, err = fmt.Sscanf(rep.STAN, "%06d", &i)
		require.NoError(t, err)
		assert.Equal(t, iso.NewTPDU(uint16(0x8000+i), uint16(i)), fr.TPDU(), "STAN %s", rep.STAN)
	}
}

// TestBadFramesCloseEveryFraming: a zero length, a length above
// MaxFrameBytes, and (binary2-tpdu) a length shorter than the TPDU or
// covering only the TPDU close the connection cleanly, counted under their
// reason, after the good request before them is answered, and reach no
// Handler.
func TestBadFramesCloseEveryFraming(t *testing.T) {
	valid, err := message(t, "0100", authFields(1, 10)).Pack()
	require.NoError(t, err)
	type badFrame struct {
		name   string
		bytes  []byte
		reason string
	}
	bad := map[iso.Framing][]badFrame{
		iso.Binary2: {
			{"zero length", []byte{0, 0}, iso.ReasonBadLength},
			{"oversized length", []byte{0x20, 0x01, '0', '1'}, iso.ReasonOversize},
			{"largest length", []byte{0xFF, 0xFF, '0', '1'}, iso.ReasonOversize},
		},
		iso.ASCII4: {
			{"zero length", []byte("0000"), iso.ReasonBadLength},
			{"oversized length", []byte("9999" + "01"), iso.ReasonOversize},
			{"not digits", []byte("00x1"), iso.ReasonBadLength},
		},
		iso.Binary4: {
			{"zero length", []byte{0, 0, 0, 0}, iso.ReasonBadLength},
			{"oversized length", []byte{0, 0, 0x20, 0x01, '0', '1'}, iso.ReasonOversize},
			{"largest length", []byte{0xFF, 0xFF, 0xFF, 0xFF, '0', '1'}, iso.ReasonOversize},
			{"length a 2-byte reader would take", []byte{0, 1, 0, 0}, iso.ReasonOversize},
		},
		iso.Binary2TPDU: {
			{"zero length", []byte{0, 0}, iso.ReasonBadLength},
			{"oversized length", []byte{0x20, 0x01, 0x60, 0, 1, 0, 0, '0', '1'}, iso.ReasonOversize},
			{"largest length", []byte{0xFF, 0xFF, 0x60, 0, 1, 0, 0}, iso.ReasonOversize},
			{"short TPDU", []byte{0, 3, 0x60, 0, 1}, iso.ReasonShortTPDU},
			{"length of one byte", []byte{0, 1, 0x60}, iso.ReasonShortTPDU},
			{"TPDU and no message", []byte{0, 5, 0x60, 0, 1, 0, 0}, iso.ReasonBadLength},
			{"no TPDU at all", frameOf(t, iso.Binary2, valid), iso.ReasonBadMTI},
		},
	}
	for _, f := range allFramings {
		for _, tt := range bad[f] {
			t.Run(f.String()+"/"+tt.name, func(t *testing.T) {
				h := newTestHandler()
				ts := startServer(t, iso.Config{Framing: f}, h)
				nc := dialRaw(t, ts.addr)
				// A good request first, in the same write: it is answered
				// before the connection closes.
				good := frameOf(t, f, valid)
				_, err := nc.Write(append(good, tt.bytes...))
				require.NoError(t, err)
				fr := iso.NewFrameReader(nc, f, 0)
				reply, err := fr.Next()
				require.NoError(t, err)
				rep, err := iso.UnpackResponse(reply)
				require.NoError(t, err)
				assert.Equal(t, "00", rep.Code)
				if f == iso.Binary2TPDU {
					assert.Equal(t, iso.DefaultTPDU.Reply(), fr.TPDU())
				}
				waitClosed(t, nc)
				ts.obs.waitFor(t, func(r *recorder) bool { return r.frameErrors[tt.reason] == 1 })
				assert.Equal(t, int64(1), h.calls.Load(), "the bad frame reached no Handler")
			})
		}
	}
}
