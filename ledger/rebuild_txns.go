package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
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

// openRef rebuilds the memory an open authorization needs: its hold and
// the keys that find it as an original. A key is restored only while the
// store's index still names this transaction: when a later purchase on the
// same card reused the same DE 11 + DE 7 (or RRN + approval code), the
// later one is the original those keys find, as memory had it before the
// restart.
func (l *Ledger) openRef(t *model.Transaction) (*txnRef, error) {
	r := &txnRef{id: t.ID, userID: t.UserID, heapIdx: -1, open: true, holdExpires: t.HoldExpiresAt}
	if t.Kind != model.KindPurchase || t.AuthorizationCode == "" {
		return r, nil
	}
	add := func(memKey string, storeKey []byte) error {
		v, err := l.db.Get(storeKey)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil
		case err != nil:
			return err
		case string(v) == t.ID:
			r.keys = append(r.keys, memKey)
		}
		return nil
	}
	if t.STAN != "" && t.TxnTime != "" {
		if err := add(origKeySTAN(t.CardID, t.STAN, t.TxnTime), store.OrigSTANKey(t.STAN, t.TxnTime, t.CardID)); err != nil {
			return nil, err
		}
	}
	if t.RRN != "" {
		if err := add(origKeyRRN(t.CardID, t.RRN, t.AuthorizationCode), store.OrigRRNKey(t.RRN, t.AuthorizationCode, t.CardID)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// rebuildTxns restores open holds (from the open index, however old) and
// the repeat index: every message recorded within the repeat window
// (transactions, found by time since their IDs sort by creation, and
// follow-ups), each for the window counted from its first recording, as
// memory counted it before the restart.
func (l *Ledger) rebuildTxns() error {
	now := l.clock.Now()
	nowMs := model.Ms(now)
	window := l.cfg.RepeatWindow.Milliseconds()
	var loadErr error
	err := l.db.Scan(store.OpenPrefix, "", false, func(k, _ []byte) bool {
		t, err := l.loadTxn(string(bytes.TrimPrefix(k, store.OpenPrefix)))
		if err != nil {
			loadErr = err
			return false
		}
		if t.Status == model.TxnAuthorized {
			r, err := l.openRef(t)
			if err != nil {
				loadErr = err
				return false
			}
			l.shardOf(t.UserID).txns.add(r)
		}
		return true
	})
	if err != nil {
		return err
	}
	if loadErr != nil {
		return loadErr
	}
	// A minute of slack below the window: IDs carry the time they were
	// made, which may run a little ahead of CreatedAt's clock reading.
	floor := model.IDFloor(model.PrefixTransaction, now.Add(-l.cfg.RepeatWindow-time.Minute))
	err = l.db.Scan(store.TxnsPrefix, floor, false, func(_, v []byte) bool {
		t := new(model.Transaction)
		if err := DecodeTransaction(v, t); err != nil {
			loadErr = err
			return false
		}
		if t.STAN == "" || t.RRN == "" || t.CreatedAt+window <= nowMs {
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
