package ledger

import (
	"bytes"
	"encoding/json"
	"time"

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

// refOf rebuilds the memory a transaction record needs: its repeat key
// while within the window, its original keys while it can still be cleared
// or reversed, its hold while open.
func (l *Ledger) refOf(t *model.Transaction, nowMs int64) *txnRef {
	r := &txnRef{id: t.ID, userID: t.UserID, fingerprint: t.Fingerprint, code: t.ResponseCode, reason: t.DeclinedReason,
		authCode: t.AuthorizationCode, heapIdx: -1}
	window := l.cfg.RepeatWindow.Milliseconds()
	last := max(t.UpdatedAt, t.CreatedAt)
	r.until = last + window
	if t.Status == model.TxnAuthorized {
		r.open, r.holdExpires = true, t.HoldExpiresAt
	}
	// An open authorization answers its repeats for as long as it is open,
	// as it does in memory; a resolved one only within the window.
	if t.Source == "iso" && t.STAN != "" && t.RRN != "" && (r.open || t.CreatedAt+window > nowMs) {
		if class := classOfMTI(t.MTI); class != 0 {
			r.keys = append(r.keys, repeatKey(class, t.STAN, t.RRN))
		}
	}
	// Originals of open authorizations are found in memory; the store's
	// index finds the others.
	if r.open && t.Kind == model.KindPurchase && t.AuthorizationCode != "" {
		if t.STAN != "" && t.TxnTime != "" {
			r.keys = append(r.keys, origKeySTAN(t.STAN, t.TxnTime))
		}
		if t.RRN != "" {
			r.keys = append(r.keys, origKeyRRN(t.RRN, t.AuthorizationCode))
		}
	}
	return r
}

// rebuildTxns restores open holds (from the open index, however old) and
// the references of transactions within the repeat window (found by time,
// since transaction IDs sort by creation).
func (l *Ledger) rebuildTxns() error {
	now := l.clock.Now()
	nowMs := model.Ms(now)
	seen := map[string]bool{}
	var loadErr error
	add := func(t *model.Transaction) {
		if seen[t.ID] {
			return
		}
		seen[t.ID] = true
		r := l.refOf(t, nowMs)
		if !r.open && len(r.keys) == 0 {
			return
		}
		l.shardOf(t.UserID).txns.add(r)
	}
	err := l.db.Scan(store.OpenPrefix, "", false, func(k, _ []byte) bool {
		t, err := l.loadTxn(string(bytes.TrimPrefix(k, store.OpenPrefix)))
		if err != nil {
			loadErr = err
			return false
		}
		add(t)
		return true
	})
	if err != nil {
		return err
	}
	if loadErr != nil {
		return loadErr
	}
	// Transactions updated within the window may have been created long
	// before it; those that matter then (completed ones that may still be
	// reversed) were created within the hold-expiry period.
	floor := model.IDFloor(model.PrefixTransaction, now.Add(-l.cfg.RepeatWindow-l.cfg.HoldExpiry-time.Minute))
	err = l.db.Scan(store.TxnsPrefix, floor, false, func(_, v []byte) bool {
		t := new(model.Transaction)
		if err := json.Unmarshal(v, t); err != nil {
			loadErr = err
			return false
		}
		if max(t.UpdatedAt, t.CreatedAt)+l.cfg.RepeatWindow.Milliseconds() > nowMs {
			add(t)
		}
		return true
	})
	if err != nil {
		return err
	}
	if loadErr != nil {
		return loadErr
	}
	return l.rebuildFollowUps(nowMs)
}

// rebuildFollowUps restores the repeat keys of clearings and reversals made
// within the repeat window.
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
		rk := string(k[len(store.FollowPrefix)+14:])
		l.shardOf(rec.UserID).txns.add(&txnRef{id: rec.TxnID, userID: rec.UserID, fingerprint: rec.Fingerprint,
			code: "00", authCode: rec.AuthCode, until: rec.At + window, keys: []string{rk}, heapIdx: -1})
		return true
	})
	if err != nil {
		return err
	}
	return decodeErr
}
