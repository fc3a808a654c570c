package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/webhook"
)

// wantingReader is an event reader that wants the events of the types in
// want (every type when nil) and needs the log from need.
type wantingReader struct {
	want map[string]bool
	need decisionlog.LSN
}

func (r *wantingReader) Wants(typ string) bool { return r.want == nil || r.want[typ] }

func (r *wantingReader) Notify(decisionlog.LSN) {}

func (r *wantingReader) NeededLSN() decisionlog.LSN { return r.need }

type readEvent struct {
	lsn decisionlog.LSN
	id  string
	raw string
}

func readEvents(t *testing.T, l *ledger.Ledger, after decisionlog.LSN) ([]readEvent, decisionlog.LSN) {
	t.Helper()
	var got []readEvent
	through, err := l.ReadEvents(after, func(lsn decisionlog.LSN, id string, raw []byte) error {
		got = append(got, readEvent{lsn: lsn, id: id, raw: string(raw)})
		return nil
	})
	require.NoError(t, err)
	return got, through
}

func authorize(t *testing.T, f *fixture, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth,
			PAN: f.pans[i%len(f.pans)], Kind: authz.Purchase, AmountCents: 1, Currency: "840", MerchantID: "M1",
			Merchant: "SHOP", MCC: "5812", STAN: fmt.Sprintf("%06d", i%1000000), RRN: fmt.Sprintf("%012d", i), TxnTime: "1121101500"})
		require.NoError(t, err)
		require.Equal(t, authz.CodeApproved, out.Code)
	}
}

// TestReadEventsFromMemoryAndFromTheLog: the events an attached reader
// wants are kept in memory until it reads them, exactly as the log has
// them; the log gives every event the store has, in LSN order.
func TestReadEventsFromMemoryAndFromTheLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		want map[string]bool
	}{
		{"every event", nil},
		{"one type", map[string]bool{model.EvtTxnAuthorized: true}},
		{"none", map[string]bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 2)
			before, _ := readEvents(t, f.l, 0) // the setup's, from the log
			f.l.AttachEventReader(&wantingReader{want: tc.want})
			authorize(t, f, 10)
			_, err := f.l.FreezeCard(context.Background(), f.cards[0])
			require.NoError(t, err)

			got, through := readEvents(t, f.l, 0)
			require.Equal(t, f.l.DurableLSN(), through)
			f.l.AttachEventReader(nil)
			fromLog, _ := readEvents(t, f.l, 0)
			require.Equal(t, before, fromLog[:len(before)])
			// What was recorded once the reader was attached comes from
			// memory: the events it wanted, as the log has them.
			var wanted []readEvent
			for _, e := range fromLog[len(before):] {
				typ, err := eventlog.TypeOf([]byte(e.raw))
				require.NoError(t, err)
				if tc.want == nil || tc.want[typ] {
					wanted = append(wanted, e)
				}
			}
			require.Equal(t, append(before[:len(before):len(before)], wanted...), got, "memory gives what the log gives")
			got = fromLog

			var stored []string
			require.NoError(t, f.db.Scan(keyspace.EventsPrefix, "", false, func(k, _ []byte) bool {
				stored = append(stored, string(k[len(keyspace.EventsPrefix):]))
				return true
			}))
			var ids []string
			for i, e := range got {
				ids = append(ids, e.id)
				if i > 0 {
					require.LessOrEqual(t, got[i-1].lsn, e.lsn)
				}
			}
			require.ElementsMatch(t, stored, ids)

			// From a record on: only what follows it.
			mid := got[len(got)/2].lsn
			after, _ := readEvents(t, f.l, mid)
			for _, e := range after {
				require.Greater(t, e.lsn, mid)
			}
			require.Equal(t, got[len(got)-len(after):], after)
		})
	}
}

// TestLogRetentionAndTheEventReader: Sweep keeps the log from the oldest
// record the event reader needs, and a reader that needs none (a server
// without webhook endpoints) holds nothing back.
func TestLogRetentionAndTheEventReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		// attach attaches a reader and returns the LSN from which the log
		// must be kept (0: the reader holds nothing back).
		attach func(t *testing.T, f *fixture) decisionlog.LSN
	}{
		{"no reader", func(*testing.T, *fixture) decisionlog.LSN { return 0 }},
		{"a reader that needs nothing", func(_ *testing.T, f *fixture) decisionlog.LSN {
			f.l.AttachEventReader(&wantingReader{})
			return 0
		}},
		{"a reader behind", func(_ *testing.T, f *fixture) decisionlog.LSN {
			f.l.AttachEventReader(&wantingReader{need: 50})
			return 50
		}},
		{"webhook delivery without endpoints", func(t *testing.T, f *fixture) decisionlog.LSN {
			wh, err := webhook.New(webhook.Config{Store: f.db, Log: f.l, Clock: f.l.Clock()})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, wh.Close()) })
			f.l.AttachEventReader(wh)
			return 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc := clock.NewVirtual(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
			f := newFixtureCfg(t, 1, nil, func(c *ledger.Config) {
				c.Clock, c.LogSegmentBytes, c.LogRetention = vc, 1<<20+64, time.Minute
			})
			keep := tc.attach(t, f)
			authorize(t, f, 3000)
			segments := func() int {
				names, err := os.ReadDir(filepath.Join(f.dir, "log"))
				require.NoError(t, err)
				n := 0
				for _, e := range names {
					if strings.HasSuffix(e.Name(), ".log") {
						n++
					}
				}
				return n
			}
			require.Greater(t, segments(), 2, "the records fill several segments")
			_, err := f.l.Sweep(context.Background())
			require.NoError(t, err)
			vc.Advance(2 * time.Minute)
			_, err = f.l.Sweep(context.Background())
			require.NoError(t, err)
			_, err = f.l.ReadEvents(max(keep, 1)-1, func(decisionlog.LSN, string, []byte) error { return nil })
			if keep == 0 {
				require.Equal(t, 1, segments(), "nothing holds the log back")
				var te *decisionlog.TruncatedError
				require.True(t, errors.As(err, &te), "the records are gone: %v", err)
				require.Greater(t, te.First, decisionlog.LSN(1))
			} else {
				require.NoError(t, err, "the records the reader needs are kept")
				require.Greater(t, segments(), 1)
			}
		})
	}
}
