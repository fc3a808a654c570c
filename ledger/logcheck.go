package ledger

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/store"
)

// LogCheck is what replaying the decision log into an empty store and
// comparing it with the real one found.
type LogCheck struct {
	// Records is how many records were replayed, First and Last their
	// LSNs (0 when the log held none the store has taken).
	Records     int
	First, Last uint64
	// Whole reports whether the log holds every change the store does (it
	// starts at LSN 1 and the store has no data from before its log), so
	// the comparison went both ways: every key the replay wrote is in the
	// store with the same value, and every key of the ledger's families in
	// the store was written by the replay. Otherwise only the first way.
	Whole bool
	// HotBehind reports that the store's hot keys (balances, card usage,
	// agent spend) were behind its other keys, and so were not compared.
	HotBehind bool
	// Keys is how many keys were compared.
	Keys int
	// Mismatches are the first keys where the store and the replay
	// disagree; Mismatched counts them all.
	Mismatches []LogMismatch
	Mismatched int
}

// LogMismatch is one key on which the store and its log disagree.
type LogMismatch struct {
	// Kind is "missing" (the log wrote it, the store lacks it),
	// "differs" (another value), "unlogged" (the store has it, no record
	// wrote it), "undeleted" (the log deleted it last, the store has it)
	// or "short" (the log ends before the store's last record).
	Kind string
	// Key is the key, non-printable bytes escaped. Keys hold IDs, never
	// card data.
	Key string
}

func (c *LogCheck) mismatch(kind string, key []byte) {
	c.Mismatched++
	if len(c.Mismatches) < 10 {
		c.Mismatches = append(c.Mismatches, LogMismatch{Kind: kind, Key: printableKey(key)})
	}
}

// printableKey shows a key with anything outside printable ASCII escaped.
func printableKey(k []byte) string {
	var b bytes.Buffer
	for _, c := range k {
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	return b.String()
}

// CheckStoreAgainstLog replays the decision log beside db, up to the last
// record the store has taken, into an empty in-memory store, and compares
// the two over the ledger's key families (keyspace.ProjectedPrefixes): the
// store must be exactly what applying its records gives. It reads the log
// without opening it (decisionlog.ReadDir), so it may run beside a live
// ledger; it only reads db.
func CheckStoreAgainstLog(db *store.DB) (LogCheck, error) {
	var res LogCheck
	upTo, hot, _, err := storeLSNs(db)
	if err != nil || upTo == 0 {
		return res, err
	}
	// A live store's hot keys are current to their last checkpoint, not
	// to upTo: they are compared only when both agree (as after a
	// restart's replay, or CatchUpStore).
	res.HotBehind = hot != upTo
	fresh, err := store.Open(store.Options{Dir: "/replay", FS: vfs.NewMem()})
	if err != nil {
		return res, err
	}
	defer fresh.Close()
	deleted := map[string]struct{}{}
	b := fresh.NewBatch()
	n := 0
	first, err := decisionlog.ReadDir(db.FS(), db.FS().PathJoin(db.Dir(), "log"), upTo, func(lsn decisionlog.LSN, rec []byte) error {
		if err := projectRecord(b, rec, nil, nil, nil); err != nil {
			return fmt.Errorf("ledger: record %d: %w", lsn, err)
		}
		_, _, _ = readRecord(rec, func(op recordOp) error {
			switch op.op {
			case opDelete:
				deleted[string(op.key)] = struct{}{}
			case opSet:
				delete(deleted, string(op.key))
			}
			return nil
		})
		res.Records++
		res.Last = uint64(lsn)
		if n++; n == 4096 {
			if err := fresh.Commit(b); err != nil {
				return err
			}
			b, n = fresh.NewBatch(), 0
		}
		return nil
	})
	if err == nil {
		err = fresh.Commit(b)
	} else {
		b.Discard()
	}
	if err != nil {
		return res, err
	}
	res.First = uint64(first)
	if res.Last != uint64(upTo) {
		res.mismatch("short", lsnKey)
		return res, nil
	}
	_, prelogErr := db.Get(store.PreLogKey)
	res.Whole = first == 1 && errors.Is(prelogErr, store.ErrNotFound)

	for _, prefix := range keyspace.ProjectedPrefixes {
		if res.HotBehind && isHot(prefix) {
			continue
		}
		// Every key the replay has: the store has it, with the same value.
		var getErr error
		err := fresh.Scan(prefix, "", false, func(k, v []byte) bool {
			res.Keys++
			got, err := db.Get(k)
			switch {
			case errors.Is(err, store.ErrNotFound):
				res.mismatch("missing", k)
			case err != nil:
				getErr = err
				return false
			case !bytes.Equal(got, v):
				res.mismatch("differs", k)
			}
			return true
		})
		if err == nil {
			err = getErr
		}
		if err != nil {
			return res, err
		}
		if !res.Whole || bytes.Equal(prefix, keyspace.IdemPrefix) {
			// Idempotency records are also written beside the log (the
			// webhook endpoints', the virtual clock's).
			continue
		}
		// Every key the store has in the family: the replay wrote it.
		err = db.Scan(prefix, "", false, func(k, _ []byte) bool {
			if _, err := fresh.Get(k); errors.Is(err, store.ErrNotFound) {
				res.mismatch("unlogged", k)
			} else if err != nil {
				getErr = err
				return false
			}
			return true
		})
		if err == nil {
			err = getErr
		}
		if err != nil {
			return res, err
		}
	}
	// Every key the log deleted last: the store does not have it. (A key
	// under a range deletion is left out: ranges only drop follow-up
	// records past the repeat window, and the replay applies them too.)
	for k := range deleted {
		key := []byte(k)
		if !projected(key) || (res.HotBehind && isHot(key)) {
			continue
		}
		res.Keys++
		if _, err := db.Get(key); err == nil {
			res.mismatch("undeleted", key)
		} else if !errors.Is(err, store.ErrNotFound) {
			return res, err
		}
	}
	return res, nil
}

func projected(key []byte) bool {
	for _, p := range keyspace.ProjectedPrefixes {
		if bytes.HasPrefix(key, p) {
			return true
		}
	}
	return false
}
