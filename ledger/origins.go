package ledger

import (
	"crypto/rand"
	"encoding/binary"
	"sync"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
)

// origins finds approved purchases by the references a follow-up quotes
// for its original: DE 11 + DE 7 (as DE 90 carries them) and RRN +
// approval code. The store used to keep two index keys per approval for
// this (xos/, xor/); memory keeps it instead, pointer-free: one 48-byte
// entry per purchase in an append-only table (with the hashes of its two
// references), chained newest first from two open-addressing tables of
// entry indexes (one per kind of reference; about 67 bytes per purchase
// in all, TestOriginMemory), so that the collector has nothing to scan
// and a checkpoint copies the tables whole. It is filled as purchases are approved
// (under their shard's lock, before anyone can quote them) and at Open
// from the store's transactions.
//
// A hash names candidates, not answers: every candidate is loaded and its
// references compared before it is used (find), so two references with
// one hash cost a load, never a wrong original.
type origins struct {
	mu sync.RWMutex
	// key keys the hashes of references and card IDs: random and secret,
	// so that a client cannot choose references that share a chain, and
	// kept in memory checkpoints with the hashes it made (a restart that
	// loads a checkpoint hashes with its key).
	key uint64
	// heads finds, for each kind of reference (refSTAN, refRRN), the
	// newest entry that carries a reference hash: open-addressing tables
	// of entry indexes, compared by the hash the entry keeps (no Go map:
	// nothing for the collector, and a checkpoint copies them whole).
	heads   [2]slotTable
	entries []originEntry
	// odd holds the IDs that do not pack (none does, outside tests).
	odd map[uint32]string
}

type originEntry struct {
	id [2]uint64
	// card is the hash of the purchase's card ID: a follow-up that names
	// the card (DE 2) skips other cards' purchases without loading them.
	card uint64
	// ref holds the hashes of its references, by kind (0: none).
	ref [2]uint64
	// prevSTAN and prevRRN are 1 + the index of the next older entry
	// with the same reference hash, 0 for none.
	prevSTAN, prevRRN uint32
}

// head returns 1 + the index of the newest entry with reference hash h
// of a kind, 0 for none. The caller holds o.mu.
func (o *origins) head(kind int, h uint64) uint32 {
	if h == 0 {
		return 0
	}
	_, v, ok := o.heads[kind].find(h, func(v uint32) bool { return o.entries[v].ref[kind] == h })
	if !ok {
		return 0
	}
	return v + 1
}

// setHead makes the entry at pos (1 + its index, already in entries) the
// newest with reference hash h of a kind. The caller holds o.mu.
func (o *origins) setHead(kind int, h uint64, pos uint32) {
	t := &o.heads[kind]
	if idx, _, ok := t.find(h, func(v uint32) bool { return o.entries[v].ref[kind] == h }); ok {
		t.set(idx, pos-1)
		return
	}
	t.insert(h, pos-1, func(v uint32) uint64 { return o.entries[v].ref[kind] })
}

func newOrigins() *origins {
	var k [8]byte
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails
	return &origins{key: binary.LittleEndian.Uint64(k[:])}
}

// keyedHash is FNV-1a 64 from a basis keyed by key, over a, '|' and b,
// finished with MurmurHash3's mixer (keyed again): deterministic for a
// key, so that a checkpoint's hashes stay valid after a restart.
func keyedHash(key uint64, a, b string, sep bool) uint64 {
	h := uint64(14695981039346656037) ^ mix64(key)
	for i := 0; i < len(a); i++ {
		h ^= uint64(a[i])
		h *= 1099511628211
	}
	if sep {
		h ^= '|'
		h *= 1099511628211
		for i := 0; i < len(b); i++ {
			h ^= uint64(b[i])
			h *= 1099511628211
		}
	}
	return mix64(h ^ key)
}

// refHash is never 0, which an entry's ref keeps for "no reference".
func (o *origins) refHash(a, b string) uint64 { return max(keyedHash(o.key, a, b, true), 1) }

func (o *origins) cardHash(cardID string) uint64 { return keyedHash(o.key, cardID, "", false) }

// isOriginal reports whether a transaction is one a follow-up may quote
// as its original: an approved purchase (in full or in part).
func isOriginal(t *model.Transaction) bool {
	return t.Kind == model.KindPurchase && t.Status != model.TxnDeclined &&
		(t.ResponseCode == authz.CodeApproved || t.ResponseCode == authz.CodePartialApproval)
}

// add indexes an approved purchase under its references. Purchases are
// added in the order they were approved, so each chain runs newest first.
func (o *origins) add(t *model.Transaction) {
	if !isOriginal(t) {
		return
	}
	hasSTAN := t.STAN != "" && t.TxnTime != ""
	hasRRN := t.RRN != ""
	if !hasSTAN && !hasRRN {
		return
	}
	var sh, rh uint64
	if hasSTAN {
		sh = o.refHash(t.STAN, t.TxnTime)
	}
	if hasRRN {
		rh = o.refHash(t.RRN, t.AuthorizationCode)
	}
	card := o.cardHash(t.CardID)
	id, packed := packTxnID(t.ID)
	o.mu.Lock()
	defer o.mu.Unlock()
	e := originEntry{id: id, card: card, ref: [2]uint64{sh, rh}}
	pos := uint32(len(o.entries)) + 1
	if !packed {
		if o.odd == nil {
			o.odd = map[uint32]string{}
		}
		o.odd[pos] = t.ID
	}
	e.prevSTAN, e.prevRRN = o.head(refSTAN, sh), o.head(refRRN, rh)
	o.entries = append(o.entries, e)
	if hasSTAN {
		o.setHead(refSTAN, sh, pos)
	}
	if hasRRN {
		o.setHead(refRRN, rh, pos)
	}
}

// Kinds of reference.
const (
	refSTAN = iota // DE 11 + DE 7
	refRRN         // RRN + approval code
)

// candidates returns the IDs of the purchases indexed under a reference,
// newest first, only those of cardID unless it is "", at most limit of
// them (0: all). They are candidates: the caller compares each one's
// references.
func (o *origins) candidates(kind int, a, b, cardID string, limit int) []string {
	h := o.refHash(a, b)
	var card uint64
	if cardID != "" {
		card = o.cardHash(cardID)
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	var ids []string
	pos := o.head(kind, h)
	for pos != 0 && (limit == 0 || len(ids) < limit) {
		e := &o.entries[pos-1]
		if cardID == "" || e.card == card {
			if id, ok := o.odd[pos]; ok {
				ids = append(ids, id)
			} else {
				ids = append(ids, unpackID("txn", e.id[0], e.id[1]))
			}
		}
		if kind == refRRN {
			pos = e.prevRRN
		} else {
			pos = e.prevSTAN
		}
	}
	return ids
}

// newest returns the ID of the newest purchase of a card indexed under a
// reference, without comparing references (a restart's check that an
// open hold is still the one its references find).
func (o *origins) newest(kind int, a, b, cardID string) string {
	if ids := o.candidates(kind, a, b, cardID, 1); len(ids) > 0 {
		return ids[0]
	}
	return ""
}
