package ledger

import (
	"bytes"
	"fmt"

	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// A restart's replay of the log's tail does two kinds of work: reading
// and decoding records (frames, operations, transactions) and restoring
// the tables from what they hold (lookups in tables of millions of
// entries). Neither depends on the other's result, so they run on two
// goroutines: the decoder fills chunks of decoded steps while the restorer
// applies the previous chunk, in LSN order, and a restart on two cores
// spends the decoding's time beside the restoring's instead of before it.

// replayStep is one thing a record of the tail restores.
type replayStep struct {
	kind replayKind
	// txn is the transaction a txn step restores.
	txn model.Transaction
	// a and b are offsets into the chunk's arena: an event's type and ID;
	// a list key's parent and transaction ID (listKind is its list).
	a, b     span
	listKind byte
	// typ is an event step's type, as eventlog.TypeOf gave it.
	typ string
}

type replayKind uint8

const (
	stepTxn       replayKind = iota + 1
	stepEvent                // an event: its type and ID
	stepEventType            // an index key of an event by type (older records)
	stepList                 // a transaction list key (older records)
)

// span is a slice of a chunk's arena by offsets, so that the arena can
// grow while steps point into it.
type span struct{ off, n int }

// replayChunk is a run of decoded steps. Chunks go back to the decoder
// once applied, steps and arena kept for reuse: a transaction's strings
// are its own (decoding copies them), the arena's bytes are copied by the
// tables that keep them.
type replayChunk struct {
	steps []replayStep
	arena []byte
	err   error
}

// replayChunkSteps is how many steps a chunk holds: enough that the
// hand-over costs nothing against the work, few enough that the restorer
// starts at once.
const replayChunkSteps = 512

func (c *replayChunk) bytes(s span) []byte { return c.arena[s.off : s.off+s.n] }

func (c *replayChunk) keep(b []byte) span {
	s := span{len(c.arena), len(b)}
	c.arena = append(c.arena, b...)
	return s
}

// next returns the chunk's next step, zeroed.
func (c *replayChunk) next(kind replayKind) *replayStep {
	c.steps = append(c.steps, replayStep{kind: kind})
	return &c.steps[len(c.steps)-1]
}

// decodeTail reads the log from from on and sends its steps to out in
// chunks, then closes out. A decoding error is sent as a chunk's err, and
// ends the stream. free hands back applied chunks for reuse.
func (l *Ledger) decodeTail(from decisionlog.LSN, out chan<- *replayChunk, free chan *replayChunk) {
	defer close(out)
	take := func() *replayChunk {
		select {
		case c := <-free:
			c.steps, c.arena, c.err = c.steps[:0], c.arena[:0], nil
			return c
		default:
			return &replayChunk{steps: make([]replayStep, 0, replayChunkSteps), arena: make([]byte, 0, 16<<10)}
		}
	}
	c := take()
	err := l.dlog.ReadFrom(from, func(lsn decisionlog.LSN, rec []byte) error {
		_, _, err := readRecord(rec, func(op recordOp) error {
			return c.decodeOp(op)
		})
		if err != nil {
			return fmt.Errorf("ledger: record %d: %w", lsn, err)
		}
		if len(c.steps) >= replayChunkSteps {
			out <- c
			c = take()
		}
		return nil
	})
	c.err = err
	out <- c
}

// decodeOp adds the step an operation restores, if any: the same choice
// the projection makes (projectRecord).
func (c *replayChunk) decodeOp(op recordOp) error {
	if op.op != opSet {
		return nil
	}
	if id, ok := bytes.CutPrefix(op.key, keyspace.TxnsPrefix); ok {
		s := c.next(stepTxn)
		if err := DecodeTransaction(op.value, &s.txn); err != nil {
			c.steps = c.steps[:len(c.steps)-1]
			return fmt.Errorf("ledger: transaction %s: %w", id, err)
		}
	} else if id, ok := bytes.CutPrefix(op.key, keyspace.EventsPrefix); ok {
		typ, err := eventlog.TypeOf(op.value)
		if err != nil {
			return fmt.Errorf("ledger: event %s: %w", id, err)
		}
		s := c.next(stepEvent)
		s.typ, s.b = typ, c.keep(id)
	} else if typ, evID, ok := eventTypeOf(op.key); ok {
		s := c.next(stepEventType)
		s.a, s.b = c.keep(typ), c.keep(evID)
	} else if kind, parent, txnID, ok := listOf(op.key); ok {
		s := c.next(stepList)
		s.listKind, s.a, s.b = kind, c.keep(parent), c.keep(txnID)
	}
	return nil
}

// applyReplayChunk restores a chunk's steps into the tables.
func (l *Ledger) applyReplayChunk(c *replayChunk, rt *txnRestore) {
	for i := range c.steps {
		s := &c.steps[i]
		switch s.kind {
		case stepTxn:
			l.restoreTxn(&s.txn, rt)
		case stepEvent:
			l.events.addTyped(s.typ, c.bytes(s.b))
		case stepEventType:
			l.events.add(c.bytes(s.a), c.bytes(s.b))
		case stepList:
			l.lists.add(s.listKind, c.bytes(s.a), c.bytes(s.b))
		}
	}
}
