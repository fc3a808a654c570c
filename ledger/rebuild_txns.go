package ledger

import (
	"encoding/json"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// classOfMTI is the repeat-detection class of the message that created a
// transaction.
func classOfMTI(mti string) byte {
	switch mti {
	case "0100", "0101":
		return ClassAuth
	case "0120", "0121":
		return ClassAdvice
	case "0200", "0201":
		return ClassFinancial
	case "0220", "0221":
		return ClassClearing
	}
	return 0
}

// originLookup is one original reference a restart checks for an open
// authorization: the reference (kind and its two parts), the hash of the
// memory key it restores, and the transaction it must still find.
type originLookup struct {
	kind    int
	a, b    string
	keyHash uint64 // the hash of the memory key (origHashSTAN, origHashRRN)
	ref     *txnRef
	cardID  string
}

// openFromTxn is what a restart restores for one open authorization: its
// hold, and the original references to check for it (a key is restored
// only while l.origins still finds this transaction by it: when a later
// purchase on the same card reused the same DE 11 + DE 7, or RRN +
// approval code, the later one is the original those keys find, as memory
// had it before the restart).
func openFromTxn(t *model.Transaction, stan, rrn *[]originLookup) *txnRef {
	r := &txnRef{id: t.ID, userID: t.UserID, open: true, holdExpires: sweepAt(t)}
	if t.Kind != model.KindPurchase || t.AuthorizationCode == "" {
		return r
	}
	if t.STAN != "" && t.TxnTime != "" {
		*stan = append(*stan, originLookup{refSTAN, t.STAN, t.TxnTime, origHashSTAN(t.CardID, t.STAN, t.TxnTime), r, t.CardID})
	}
	if t.RRN != "" {
		*rrn = append(*rrn, originLookup{refRRN, t.RRN, t.AuthorizationCode, origHashRRN(t.CardID, t.RRN, t.AuthorizationCode), r, t.CardID})
	}
	return r
}

// restoreOrigins adds to each lookup's ref the memory key of every
// reference by which l.origins still finds this transaction first.
func (l *Ledger) restoreOrigins(set []originLookup) {
	for i := range set {
		if o := &set[i]; l.origins.newest(o.kind, o.a, o.b, o.cardID) == o.ref.id {
			// Hashed from its parts, as the decision path gives it: no
			// key string is built for each of a restart's holds.
			o.ref.addKeyHash(o.keyHash)
		}
	}
}

// rebuildTxns restores, in one pass over the store's transactions, what
// memory derives from them: the transaction lists (txnlists.go), the open
// holds with the keys that find them as originals (the store keeps no
// index of open authorizations: memory is where they are looked up), and
// the repeat index: every message recorded within the repeat window
// (transactions, and then follow-ups), each for the window counted from
// its first recording, as memory counted it before the restart.
func (l *Ledger) rebuildTxns() error {
	rt := l.newTxnRestore(false)
	var (
		loadErr error
		t       model.Transaction
	)
	err := l.db.Scan(keyspace.TxnsPrefix, "", false, func(_, v []byte) bool {
		t = model.Transaction{}
		if err := DecodeTransaction(v, &t); err != nil {
			loadErr = err
			return false
		}
		l.restoreTxn(&t, rt)
		return true
	})
	if err != nil {
		return err
	}
	if loadErr != nil {
		return loadErr
	}
	l.finishTxns(rt)
	if err := l.rebuildFollowUps(rt.nowMs); err != nil {
		return err
	}
	l.repeats.sortQueues()
	return nil
}

// txnRestore is what a pass over transactions collects on its way: the
// open holds to add once every original is known, and the references to
// check for them. A full rebuild sees each transaction once, in ID order;
// a replay of the log after a memory checkpoint (memcheckpoint.go) sees a
// transaction at each record that writes it, into tables that may hold it
// already, so every step is idempotent and the newest value wins.
type txnRestore struct {
	nowMs, window int64
	// floor is the least transaction ID the repeat window can hold.
	floor     string
	replay    bool
	refs      []*txnRef
	byID      map[string]*txnRef // replay: the holds it opened, by ID
	stan, rrn []originLookup
}

func (l *Ledger) newTxnRestore(replay bool) *txnRestore {
	now := l.clock.Now()
	rt := &txnRestore{nowMs: model.Ms(now), window: l.cfg.RepeatWindow.Milliseconds(), replay: replay,
		// A minute of slack below the window: IDs carry the time they were
		// made, which may run a little ahead of CreatedAt's clock reading.
		floor: model.IDFloor(model.PrefixTransaction, now.Add(-l.cfg.RepeatWindow-time.Minute))}
	if replay {
		rt.byID = map[string]*txnRef{}
	}
	return rt
}

// restoreTxn restores what memory derives from one transaction: the full
// rebuild calls it for each stored transaction, the replay after a memory
// checkpoint for each transaction a record writes, so the two cannot
// diverge.
func (l *Ledger) restoreTxn(t *model.Transaction, rt *txnRestore) {
	id := []byte(t.ID)
	l.lists.add('c', []byte(t.CardID), id)
	l.lists.add('u', []byte(t.UserID), id)
	l.lists.add('a', []byte(t.AgentID), id)
	l.origins.addOnce(t)
	l.restoreHold(t, rt)
	if t.ID < rt.floor || t.STAN == "" || t.RRN == "" || t.CreatedAt+rt.window <= rt.nowMs {
		return
	}
	if class := classOfMTI(t.MTI); class != 0 {
		l.repeats.restore(&repeatEntry{key: repeatKey(class, t.STAN, t.RRN), fp: t.Fingerprint, expires: t.CreatedAt + rt.window,
			code: t.ResponseCode, reason: t.DeclinedReason, authCode: t.AuthorizationCode, txnID: t.ID}, rt.nowMs)
	}
}

// restoreHold makes t's hold open in memory iff t is authorized, with the
// expiry of t's newest value.
func (l *Ledger) restoreHold(t *model.Transaction, rt *txnRestore) {
	open := t.Status == model.TxnAuthorized
	if rt.replay {
		if r := rt.byID[t.ID]; r != nil { // opened earlier in this replay
			r.open, r.holdExpires = open, sweepAt(t)
			return
		}
		st := &l.shardOf(t.UserID).txns
		if slot, ok := st.slotOf(t.ID); ok { // in the checkpoint
			if open {
				st.setExpiry(slot, sweepAt(t))
			} else {
				st.close(st.handle(slot))
			}
			return
		}
	}
	if open {
		r := openFromTxn(t, &rt.stan, &rt.rrn)
		rt.refs = append(rt.refs, r)
		if rt.replay {
			rt.byID[t.ID] = r
		}
	}
}

// finishTxns adds the holds a pass found open, each with the original
// keys that still find it.
func (l *Ledger) finishTxns(rt *txnRestore) {
	// The STAN keys first, as an authorization adds them, so that a ref's
	// keys keep the order they had before the restart.
	for _, set := range [][]originLookup{rt.stan, rt.rrn} {
		l.restoreOrigins(set)
	}
	for _, r := range rt.refs {
		l.shardOf(r.userID).txns.add(r)
	}
}

// rebuildFollowUps restores the repeat entries of clearings and reversals
// made within the repeat window.
func (l *Ledger) rebuildFollowUps(nowMs int64) error {
	window := l.cfg.RepeatWindow.Milliseconds()
	floor := keyspace.FollowUpFloor(nowMs - window)
	var decodeErr error
	err := l.db.Scan(keyspace.FollowPrefix, string(floor[len(keyspace.FollowPrefix):]), false, func(k, v []byte) bool {
		var rec followUpRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			decodeErr = err
			return false
		}
		// The key is prefix, 13 digits of time, '/', then the repeat key.
		// restore skips the record made exactly a window ago, whose window
		// has just ended (the floor includes it).
		rk := string(k[len(keyspace.FollowPrefix)+14:])
		l.repeats.restore(&repeatEntry{key: rk, fp: rec.Fingerprint, expires: rec.At + window,
			code: authz.CodeApproved, authCode: rec.AuthCode, txnID: rec.TxnID}, nowMs)
		return true
	})
	if err != nil {
		return err
	}
	return decodeErr
}
