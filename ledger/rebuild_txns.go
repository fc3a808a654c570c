package ledger

import (
	"encoding/json"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
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
// authorization: the reference (kind and its two parts), the memory key
// it restores, and the transaction it must still find.
type originLookup struct {
	kind   int
	a, b   string
	memKey string
	ref    *txnRef
	cardID string
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
		*stan = append(*stan, originLookup{refSTAN, t.STAN, t.TxnTime, origKeySTAN(t.CardID, t.STAN, t.TxnTime), r, t.CardID})
	}
	if t.RRN != "" {
		*rrn = append(*rrn, originLookup{refRRN, t.RRN, t.AuthorizationCode, origKeyRRN(t.CardID, t.RRN, t.AuthorizationCode), r, t.CardID})
	}
	return r
}

// restoreOrigins adds to each lookup's ref the memory key of every
// reference by which l.origins still finds this transaction first.
func (l *Ledger) restoreOrigins(set []originLookup) {
	for i := range set {
		if o := &set[i]; l.origins.newest(o.kind, o.a, o.b, o.cardID) == o.ref.id {
			o.ref.keys = append(o.ref.keys, o.memKey)
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
	now := l.clock.Now()
	nowMs := model.Ms(now)
	window := l.cfg.RepeatWindow.Milliseconds()
	// A minute of slack below the window: IDs carry the time they were
	// made, which may run a little ahead of CreatedAt's clock reading.
	floor := model.IDFloor(model.PrefixTransaction, now.Add(-l.cfg.RepeatWindow-time.Minute))
	var (
		refs      []*txnRef
		stan, rrn []originLookup
		loadErr   error
		t         model.Transaction
	)
	err := l.db.Scan(store.TxnsPrefix, "", false, func(_, v []byte) bool {
		t = model.Transaction{}
		if err := DecodeTransaction(v, &t); err != nil {
			loadErr = err
			return false
		}
		id := []byte(t.ID)
		l.lists.add('c', []byte(t.CardID), id)
		l.lists.add('u', []byte(t.UserID), id)
		l.lists.add('a', []byte(t.AgentID), id)
		l.origins.add(&t)
		if t.Status == model.TxnAuthorized {
			refs = append(refs, openFromTxn(&t, &stan, &rrn))
		}
		if t.ID < floor || t.STAN == "" || t.RRN == "" || t.CreatedAt+window <= nowMs {
			return true
		}
		if class := classOfMTI(t.MTI); class != 0 {
			l.repeats.restore(&repeatEntry{key: repeatKey(class, t.STAN, t.RRN), fp: t.Fingerprint, expires: t.CreatedAt + window,
				code: t.ResponseCode, reason: t.DeclinedReason, authCode: t.AuthorizationCode, txnID: t.ID}, nowMs)
		}
		return true
	})
	if err != nil {
		return err
	}
	if loadErr != nil {
		return loadErr
	}
	// The STAN keys first, as an authorization adds them, so that a ref's
	// keys keep the order they had before the restart.
	for _, set := range [][]originLookup{stan, rrn} {
		l.restoreOrigins(set)
	}
	for _, r := range refs {
		l.shardOf(r.userID).txns.add(r)
	}
	if err := l.rebuildFollowUps(nowMs); err != nil {
		return err
	}
	l.repeats.sortQueues()
	return nil
}

// rebuildFollowUps restores the repeat entries of clearings and reversals
// made within the repeat window.
func (l *Ledger) rebuildFollowUps(nowMs int64) error {
	window := l.cfg.RepeatWindow.Milliseconds()
	floor := store.FollowUpFloor(nowMs - window)
	var decodeErr error
	err := l.db.Scan(store.FollowPrefix, string(floor[len(store.FollowPrefix):]), false, func(k, v []byte) bool {
		var rec followUpRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			decodeErr = err
			return false
		}
		// The key is prefix, 13 digits of time, '/', then the repeat key.
		// restore skips the record made exactly a window ago, whose window
		// has just ended (the floor includes it).
		rk := string(k[len(store.FollowPrefix)+14:])
		l.repeats.restore(&repeatEntry{key: rk, fp: rec.Fingerprint, expires: rec.At + window,
			code: authz.CodeApproved, authCode: rec.AuthCode, txnID: rec.TxnID}, nowMs)
		return true
	})
	if err != nil {
		return err
	}
	return decodeErr
}
