package ledger

import (
	crand "crypto/rand"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/vault"
)

// tableBenchOwners is how many cards, users and agents
// BenchmarkTablesAtScale's tables hold: enough that a lookup misses the
// processor's caches, as it does in a server that has run for a while
// (the in-process benchmarks' 64 users fit in them).
const tableBenchOwners = 1 << 17

// BenchmarkTablesAtScale measures, one at a time, the lookups the
// decision path and the projection make in tables of many owners: a
// card by its PAN, a transaction added to its three lists, and the three
// hot keys an approval writes.
func BenchmarkTablesAtScale(b *testing.B) {
	var gen model.IDGen
	now := time.UnixMilli(1_796_000_000_000)
	cards, users, agents := make([]string, tableBenchOwners), make([]string, tableBenchOwners), make([]string, tableBenchOwners)
	for i := range cards {
		cards[i], users[i], agents[i] = gen.New(model.PrefixCard, now), gen.New(model.PrefixUser, now), gen.New(model.PrefixAgent, now)
	}
	rng := rand.New(rand.NewPCG(1, 2))

	b.Run("findCardByPAN", func(b *testing.B) {
		v, err := vault.Open(vault.Config{MasterKeyHex: strings.Repeat("5a", 32)})
		if err != nil {
			b.Fatal(err)
		}
		l := &Ledger{vault: v}
		benchDirectory(l)
		pans := make([]string, tableBenchOwners)
		seen := map[string]bool{}
		for i := range pans {
			for pans[i] == "" || seen[pans[i]] {
				if pans[i], err = v.NewPAN(crand.Reader); err != nil {
					b.Fatal(err)
				}
			}
			seen[pans[i]] = true
			benchAddPAN(l, v.Hash(pans[i]), cards[i], users[i])
		}
		b.ResetTimer()
		for range b.N {
			i := rng.IntN(tableBenchOwners)
			if id, _, ok := l.findCardByPAN(pans[i]); !ok || id != cards[i] {
				b.Fatal("not found")
			}
		}
	})

	b.Run("txnLists.addTxn", func(b *testing.B) {
		tl := newTxnLists()
		buf := make([]byte, 0, 512)
		add := func(i int) {
			t := model.Transaction{ID: gen.New(model.PrefixTransaction, now), CardID: cards[i], AgentID: agents[i], UserID: users[i]}
			raw, _ := AppendTransaction(buf[:0], &t)
			if err := tl.addTxn([]byte(t.ID), raw); err != nil {
				b.Fatal(err)
			}
		}
		for i := range tableBenchOwners {
			add(i)
		}
		b.ResetTimer()
		for range b.N {
			add(rng.IntN(tableBenchOwners))
		}
	})

	b.Run("hotKeys.put", func(b *testing.B) {
		var h hotKeys
		h.init(0, 0)
		value := make([]byte, 60)
		put := func(i int) {
			h.put(recordOp{op: opSet, key: keyspace.BalanceKey(users[i]), value: value})
			h.put(recordOp{op: opSet, key: keyspace.UsageKey(cards[i]), value: value})
			h.put(recordOp{op: opSet, key: keyspace.SpendKey(agents[i]), value: value})
		}
		for i := range tableBenchOwners {
			put(i)
		}
		b.ResetTimer()
		for range b.N {
			put(rng.IntN(tableBenchOwners))
		}
	})
}

// benchDirectory and benchAddPAN set up the directory's PAN index for
// BenchmarkTablesAtScale.
func benchDirectory(l *Ledger) { l.dir.cardByPAN = map[panKey]panEntry{} }

func benchAddPAN(l *Ledger, hashHex, cardID, userID string) {
	k, _ := panKeyOf(hashHex)
	l.dir.cardByPAN[k] = panEntry{cardID: cardID, userID: userID}
}
