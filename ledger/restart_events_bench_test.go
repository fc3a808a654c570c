package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// BenchmarkRestartEventsByType measures what a restart spends rebuilding
// the index of events by type: one pass over the store's events, reading
// each one's type from its header. The store holds events of the mix a
// card-network load leaves (nine in ten transaction.authorized, most of
// the rest transaction.declined, a few management events), in their
// stored form; one op is one rebuild from a cold iterator over a store
// that was closed and opened again (its files in the page cache, as after
// a clean restart).
func BenchmarkRestartEventsByType(b *testing.B) {
	for _, events := range []int{1_000_000} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) { benchRestartEvents(b, events) })
	}
}

func benchRestartEvents(b *testing.B, events int) {
	dir := b.TempDir()
	db, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	var gen model.IDGen
	start := time.UnixMilli(1_796_000_000_000)
	p := eventlog.TxnPayload{TransactionID: "txn_01jd8z6q4tb6v3w8xgq2m5n7pa", CardID: "card_01jd8z6q4tb6v3w8xgq2m5n7pb",
		AgentID: "agt_01jd8z6q4tb6v3w8xgq2m5n7pc", UserID: "usr_01jd8z6q4tb6v3w8xgq2m5n7pd", Amount: 4250,
		AuthorizedAmount: 4250, Currency: "USD", MerchantName: "OPENAI *CHATGPT SUBSCR", MCC: "5734", Status: "pending",
		AttestationStatus: model.Attested}
	others := []string{model.EvtCardCreated, model.EvtIntentMatched, model.EvtTxnCompleted, model.EvtDepositCompleted}
	bt := db.NewBatch()
	for i := range events {
		at := start.Add(time.Duration(i/20) * time.Millisecond) // 20,000 a second
		id := gen.New(model.PrefixEvent, at)
		var raw []byte
		switch {
		case i%10 != 9:
			raw = eventlog.AppendTxn(nil, model.Ms(at), model.EvtTxnAuthorized, &p)
		case i%100 != 99:
			raw = eventlog.AppendTxn(nil, model.Ms(at), model.EvtTxnDeclined, &p)
		default:
			if raw, err = eventlog.AppendJSON(nil, model.Ms(at), others[i%len(others)], map[string]string{"cardId": p.CardID}); err != nil {
				b.Fatal(err)
			}
		}
		bt.Put(keyspace.EventKey(id), raw)
		if (i+1)%10_000 == 0 {
			if err := db.Commit(bt); err != nil {
				b.Fatal(err)
			}
			bt = db.NewBatch()
		}
	}
	if err := db.Commit(bt); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if db, err = store.Open(store.Options{Dir: dir}); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	v, err := vault.Open(vault.Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.Real{}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := ledger.RebuildEventsByType(l)
		if err != nil {
			b.Fatal(err)
		}
		if n != events {
			b.Fatalf("the index holds %d events, want %d", n, events)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events), "ns/event")
}
