package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ledgersim/ledgersim/model"
)

// A decision record is one state change, whole: what the change wrote,
// as operations on the store's keys, in the order the change made them.
// It is the unit of the decision log (package decisionlog): appended under
// the lock that ordered the change, applied to memory at once, and to the
// store's projection once it is durable. A restart replays the records
// the store had not yet taken, through the same function.
//
// A record says what the change did, not what was asked: applying it
// decides nothing again, so a change in the rules can never change
// history, and applying reads no clock, no randomness and no map order.
//
// Format, version 1 (all integers unsigned varints unless said):
//
//	byte     version (1)
//	byte     kind (RecordKind; what made the change, for reading the log)
//	varint   time of the change, epoch ms
//	then operations to the end of the record, each:
//	  byte   op: 1 set, 2 delete, 3 delete range [key, value)
//	  varint key length, key bytes
//	  varint value length, value bytes (empty for delete)
const recordVersion = 1

// RecordKind says what made a change.
type RecordKind byte

// Record kinds. New kinds are added at the end (and to the table in
// recordkind_test.go, which pins every number); a kind is never reused.
const (
	RecOther RecordKind = iota
	RecAuthorization
	RecClearing
	RecReversal
	RecRefund
	RecExpiry
	RecUser
	RecKYC
	RecDeposit
	RecAgent
	RecAgentToken
	RecCard
	RecCardDetails
	RecIntent
	RecTransaction
	RecReceipt
	RecIdempotency
	RecHousekeeping
	RecPolicy
	RecRiskSettings
	RecRiskAction
	RecPartialApproval // an authorization approved for less than asked
	RecIncrement       // an incremental authorization grows an open one
	RecAmountAdvice    // an advice sets an open authorization's amount
	RecAutoSettle      // an open authorization completed without a clearing
	RecForceCapture    // a purchase posted without an authorization
	RecRefundReversal  // a refund taken back
	RecIntentApproval
	RecDispute
	RecDisputeEvidence
	RecDisputeResolution
	RecWithdrawal
	RecWithdrawalResolution // a submitted withdrawal confirmed, or failed and returned
	RecDisputeCancel
	RecCardExpiry // the end of a card's lifetime, recorded by Sweep
	RecKYCStatus  // a KYC application status short of a decision, or a lock
	RecCardActivation
)

const (
	opSet         byte = 1
	opDelete      byte = 2
	opDeleteRange byte = 3
)

// errBadRecord is returned for a record that does not decode.
var errBadRecord = errors.New("ledger: malformed decision record")

func appendRecordHeader(dst []byte, kind RecordKind, now time.Time) []byte {
	dst = append(dst, recordVersion, byte(kind))
	return binary.AppendUvarint(dst, uint64(model.Ms(now)))
}

func appendOp(dst []byte, op byte, key, value []byte) []byte {
	dst = append(dst, op)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	return append(dst, value...)
}

// recordOp is one operation of a record; its slices alias the record.
type recordOp struct {
	op         byte
	key, value []byte
}

// readRecord checks a record's header and calls fn with each operation.
func readRecord(rec []byte, fn func(op recordOp) error) (RecordKind, int64, error) {
	if len(rec) < 3 {
		return 0, 0, errBadRecord
	}
	if rec[0] != recordVersion {
		return 0, 0, fmt.Errorf("ledger: decision record version %d; this binary reads version %d", rec[0], recordVersion)
	}
	kind := RecordKind(rec[1])
	at, n := binary.Uvarint(rec[2:])
	if n <= 0 {
		return 0, 0, errBadRecord
	}
	b := rec[2+n:]
	for len(b) > 0 {
		op := recordOp{op: b[0]}
		if op.op < opSet || op.op > opDeleteRange {
			return 0, 0, errBadRecord
		}
		b = b[1:]
		var ok bool
		if op.key, b, ok = readBytes(b); !ok {
			return 0, 0, errBadRecord
		}
		if op.value, b, ok = readBytes(b); !ok {
			return 0, 0, errBadRecord
		}
		if err := fn(op); err != nil {
			return 0, 0, err
		}
	}
	return kind, int64(at), nil
}

func readBytes(b []byte) (v, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	return b[w : w+int(n) : w+int(n)], b[w+int(n):], true
}
