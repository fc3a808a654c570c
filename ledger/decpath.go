package ledger

import (
	"context"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/internal/jsonenc"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// Sizes of the buffers one change encodes into. An approval's record is
// about 750 bytes (its transaction about 360, its event about 230, the
// balance, usage and spend deltas and their keys the rest): a record
// buffer made at that size is never grown on the decision path. The
// transaction and its event are encoded straight into the record
// (openValue); other events, as JSON, and the balance, usage and spend
// deltas are encoded on the stack and copied into it (a usage delta with
// a locked merchant and a last access is about 100 bytes; one that
// outgrows its buffer is moved to the heap, nothing worse).
const (
	recordCap         = 1024
	eventScratchBytes = 512
	deltaScratchBytes = 256
)

// authWork is what one authorization keeps on the heap, in one
// allocation instead of four: its change, the first buffer of its record
// (the record stays in memory, and this with it, until it is projected
// and the event reader has read it: a record's buffer is never reused),
// its transaction (which Outcome.Txn returns) and the request authz.Decide
// reads (which escapes through it).
type authWork struct {
	c   change
	t   model.Transaction
	req authz.Request
	// rec is last, after every pointer: the collector's scan of the
	// object ends before it.
	rec [recordCap]byte
}

// followUpWork is authWork for a clearing or a reversal: its change,
// its record's first buffer and the transaction it loads and rewrites.
type followUpWork struct {
	c   change
	t   model.Transaction
	rec [recordCap]byte // last, as in authWork
}

// newTxnID makes a transaction's ID and its approval code (authCode of
// the ID) as one string: one allocation for both, and no more memory than
// the ID alone takes (an ID of 26 bytes and a code of 6 fill the 32-byte
// size class the ID would take anyway).
func (l *Ledger) newTxnID(now time.Time) (id, code string) {
	var buf [48]byte
	b := l.ids.AppendNew(buf[:0], model.PrefixTransaction, now)
	n := len(b)
	ac := authCodeOf(b)
	s := string(append(b, ac[:]...))
	return s[:n], s[n:]
}

// applyOutcome is apply for a card-network decision. Its Outcome is
// converted to the interface apply records only when ctx carries an
// idempotency key (the API's simulate calls): the ISO path, which never
// does, is spared the copy on the heap.
func (c *change) applyOutcome(ctx context.Context, out *Outcome) error {
	var result any
	if idemFrom(ctx) != nil {
		result = *out
	}
	return c.apply(ctx, result)
}

// origHashSTAN is refKeyHash(origKeySTAN(cardID, stan, txnTime)) and
// origHashRRN refKeyHash(origKeyRRN(cardID, rrn, authCode)), without
// building the key: the decision path needs only the hash.
func origHashSTAN(cardID, stan, txnTime string) uint64 {
	return refPartsHash('s', cardID, stan, txnTime)
}

func origHashRRN(cardID, rrn, authCode string) uint64 {
	return refPartsHash('r', cardID, rrn, authCode)
}

// refPartsHash is refKeyHash of kind + a + "|" + b + "|" + c.
func refPartsHash(kind byte, a, b, c string) uint64 {
	h := fnvByte(14695981039346656037, kind)
	h = fnvByte(fnvString(h, a), '|')
	h = fnvByte(fnvString(h, b), '|')
	return max(mix64(fnvString(h, c)), 1)
}

// fnvByte and fnvString continue an FNV-1a 64 hash.
func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * 1099511628211 }

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// asciiMerchantKey is merchantKey for a name in ASCII (ok false for any
// other): the name itself when it is already its key, as a terminal's
// upper-case name without spaces is, or one string made on the stack.
// (Outside ASCII, upper-casing may give a letter the key keeps, as the
// long s gives S: merchantKey's general path handles those.)
func asciiMerchantKey(name string) (string, bool) {
	clean := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 {
			return "", false
		}
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			clean = false
		}
	}
	if clean {
		return name, true
	}
	var buf [64]byte
	b := buf[:0]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b), true
}

// txnReversalEvent records a reversal's event: the transaction's payload
// with the reversal's amounts and reason, encoded as JSON without a map.
func (c *change) txnReversalEvent(t *model.Transaction, rv eventlog.Reversal) string {
	if c.err != nil || c.l.skipEvents {
		return ""
	}
	p := txnEventData(t)
	id, at := c.openEvent()
	c.rec = eventlog.AppendTxnReversal(c.rec, model.Ms(c.now), model.EvtTxnReversed, &p, rv)
	c.closeEvent(model.EvtTxnReversed, id, at)
	return id
}

// appendRepeatKey appends repeatKey(class, stan, rrn).
func appendRepeatKey(dst []byte, class byte, stan, rrn string) []byte {
	dst = append(dst, 'm', class)
	dst = append(dst, stan...)
	dst = append(dst, '|')
	return append(dst, rrn...)
}

// appendFollowUpRecord appends a follow-up's first reply as JSON, the
// bytes encoding/json gives for it, without reflection.
func appendFollowUpRecord(dst []byte, r *followUpRecord) []byte {
	dst = append(dst, `{"txnId":`...)
	dst = jsonenc.AppendString(dst, r.TxnID)
	dst = append(dst, `,"userId":`...)
	dst = jsonenc.AppendString(dst, r.UserID)
	dst = append(dst, `,"fingerprint":`...)
	dst = strconv.AppendUint(dst, r.Fingerprint, 10)
	dst = append(dst, `,"authCode":`...)
	dst = jsonenc.AppendString(dst, r.AuthCode)
	dst = append(dst, `,"at":`...)
	dst = strconv.AppendInt(dst, r.At, 10)
	return append(dst, '}')
}

// fnvUint64 continues an FNV-1a 64 hash with v's 8 bytes, big-endian.
func fnvUint64(h, v uint64) uint64 {
	for i := 56; i >= 0; i -= 8 {
		h = fnvByte(h, byte(v>>i))
	}
	return h
}

// valueLenRoom is the room openValue leaves for a value's length: two
// bytes of varint, a length up to 16383, which a transaction or an event
// does not reach. closeValue moves a value whose length takes fewer or
// more bytes, so that the record's bytes are exactly appendOp's.
const valueLenRoom = 2

// openValue appends an operation's op and key to the change's record and
// room for its value's length, so that the value can be encoded straight
// into the record (closeValue then writes the length) rather than into a
// buffer of its own and copied. It returns where the length goes.
func (c *change) openValue(op byte, key []byte) (at int) {
	c.rec = append(c.rec, op)
	c.rec = binary.AppendUvarint(c.rec, uint64(len(key)))
	c.rec = append(c.rec, key...)
	at = len(c.rec)
	c.rec = append(c.rec, 0, 0)
	return at
}

// closeValue writes the length of the value appended since openValue
// returned at, and returns it.
func (c *change) closeValue(at int) (n int) {
	start := at + valueLenRoom
	n = len(c.rec) - start
	var lb [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(lb[:], uint64(n))
	switch {
	case w < valueLenRoom:
		copy(c.rec[at+w:], c.rec[start:])
		c.rec = c.rec[:at+w+n]
	case w > valueLenRoom:
		c.rec = append(c.rec, lb[:w-valueLenRoom]...) // room only: overwritten
		copy(c.rec[at+w:], c.rec[start:start+n])
	}
	copy(c.rec[at:], lb[:w])
	return n
}

// opStart is where the operation whose value's length openValue put at
// begins: a change that fails to encode the value cuts its record back
// to it.
func opStart(at int, key []byte) int {
	var lb [binary.MaxVarintLen64]byte
	return at - len(key) - binary.PutUvarint(lb[:], uint64(len(key))) - 1
}

// openEvent starts an event's operation in the change's record, under a
// new event ID; closeEvent ends it. The event's encoding is appended to
// c.rec in between.
func (c *change) openEvent() (id string, at int) {
	id = c.l.ids.New(model.PrefixEvent, c.now)
	return id, c.openValue(opSet, keyspace.EventKey(id))
}

// closeEvent is record for an event encoded in place since openEvent.
func (c *change) closeEvent(typ, id string, at int) {
	n := c.closeValue(at)
	// The index of events by type is derived from the event when it is
	// projected (projectRecord); events are not in the queue's index
	// (noteKey would leave their keys out).
	c.noteWanted(typ, id, n)
}
