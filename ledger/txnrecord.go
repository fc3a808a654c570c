package ledger

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ledgersim/ledgersim/internal/binrec"
	"github.com/ledgersim/ledgersim/model"
)

// Transaction records are written on every authorization and rewritten on
// every clearing and reversal, so their stored form is on the decision
// path. They are stored in a compact binary form: a format byte, then each
// field that is not zero as a tag (the field's number and its kind) and its
// value: a varint for numbers and flags, a length and the bytes for
// strings. About a third of the bytes of the JSON form, without
// encoding/json's reflection on the way in or out. The API's annotations
// (notes, tags, category, receipt), which only the API writes, are kept
// together as one JSON value. Records written as JSON by earlier versions
// still decode.
//
// A field's number is part of the stored format: it is never renumbered or
// reused. A reader skips the fields it does not know, so a record written by
// a later version still reads.

const txnFormat byte = 0x01

// Field kinds, the low bit of a tag.
const (
	kindVarint byte = 0
	kindBytes  byte = 1
)

// Field numbers.
const (
	tfID byte = iota + 1
	tfCardID
	tfAgentID
	tfUserID
	tfKind
	tfStatus
	tfAmountCents
	tfAuthorizedAmountCents
	tfHoldCents
	tfReversedCents
	tfRefundedCents
	tfCurrency
	tfMerchantName
	tfMerchantID
	tfMerchantCity
	tfMerchantCountry
	tfMCC
	tfResponseCode
	tfAuthorizationCode
	tfDeclinedReason
	tfReversalReason
	tfForcePost
	tfStandIn
	tfOriginalID
	tfSource
	tfMTI
	tfSTAN
	tfRRN
	tfTxnTime
	tfTerminalID
	tfAcquirerID
	tfFingerprint
	tfIntentID
	tfAttestationStatus
	tfAccessEventID
	tfAnnotations
	tfCreatedAt
	tfUpdatedAt
	tfAuthorizedAt
	tfSettledAt
	tfReversedAt
	tfHoldExpiresAt
	tfRequestedAmountCents
	tfAutoSettleAt
	tfLast // not a field: the number after the last one
)

// ErrCorruptTxn is returned for a transaction record that does not decode.
var ErrCorruptTxn = errors.New("ledger: corrupt transaction record")

// annotations are the fields only the API sets, stored as one JSON value.
type annotations struct {
	Notes    *string        `json:"notes,omitempty"`
	Tags     []string       `json:"tags,omitempty"`
	Category *string        `json:"category,omitempty"`
	Receipt  *model.Receipt `json:"receipt,omitempty"`
}

// txnOwners reads the card, agent and user IDs of a stored transaction
// without decoding the rest: in the binary form they are fields 2 to 4,
// right after the ID, and the projection of every new transaction into
// the lists reads them. A record stored as JSON by an earlier version is
// decoded whole.
func txnOwners(raw []byte) (card, agent, user []byte, err error) {
	if len(raw) > 0 && raw[0] == '{' {
		var t model.Transaction
		if err := DecodeTransaction(raw, &t); err != nil {
			return nil, nil, nil, err
		}
		return []byte(t.CardID), []byte(t.AgentID), []byte(t.UserID), nil
	}
	if len(raw) == 0 || raw[0] != txnFormat {
		return nil, nil, nil, errBadTxnRecord
	}
	r := raw[1:]
	for len(r) > 0 && r[0]>>1 <= tfUserID {
		if r[0]&1 != kindBytes {
			return nil, nil, nil, errBadTxnRecord
		}
		n, k := binary.Uvarint(r[1:])
		if k <= 0 || n > uint64(len(r)-1-k) {
			return nil, nil, nil, errBadTxnRecord
		}
		v := r[1+k : 1+k+int(n)]
		switch r[0] >> 1 {
		case tfCardID:
			card = v
		case tfAgentID:
			agent = v
		case tfUserID:
			user = v
		}
		r = r[1+k+int(n):]
	}
	return card, agent, user, nil
}

var errBadTxnRecord = errors.New("ledger: malformed transaction record")

// AppendTransaction appends the stored form of t.
func AppendTransaction(dst []byte, t *model.Transaction) ([]byte, error) {
	dst = append(dst, txnFormat)
	dst = appendStrField(dst, tfID, t.ID)
	dst = appendStrField(dst, tfCardID, t.CardID)
	dst = appendStrField(dst, tfAgentID, t.AgentID)
	dst = appendStrField(dst, tfUserID, t.UserID)
	dst = appendStrField(dst, tfKind, t.Kind)
	dst = appendStrField(dst, tfStatus, t.Status)
	dst = appendIntField(dst, tfAmountCents, t.AmountCents)
	dst = appendIntField(dst, tfAuthorizedAmountCents, t.AuthorizedAmountCents)
	dst = appendIntField(dst, tfHoldCents, t.HoldCents)
	dst = appendIntField(dst, tfReversedCents, t.ReversedCents)
	dst = appendIntField(dst, tfRefundedCents, t.RefundedCents)
	dst = appendStrField(dst, tfCurrency, t.Currency)
	dst = appendStrField(dst, tfMerchantName, t.MerchantName)
	dst = appendStrField(dst, tfMerchantID, t.MerchantID)
	dst = appendStrField(dst, tfMerchantCity, t.MerchantCity)
	dst = appendStrField(dst, tfMerchantCountry, t.MerchantCountry)
	dst = appendStrField(dst, tfMCC, t.MCC)
	dst = appendStrField(dst, tfResponseCode, t.ResponseCode)
	dst = appendStrField(dst, tfAuthorizationCode, t.AuthorizationCode)
	dst = appendStrField(dst, tfDeclinedReason, t.DeclinedReason)
	dst = appendStrField(dst, tfReversalReason, t.ReversalReason)
	dst = appendBoolField(dst, tfForcePost, t.ForcePost)
	dst = appendBoolField(dst, tfStandIn, t.StandIn)
	dst = appendStrField(dst, tfOriginalID, t.OriginalID)
	dst = appendStrField(dst, tfSource, t.Source)
	dst = appendStrField(dst, tfMTI, t.MTI)
	dst = appendStrField(dst, tfSTAN, t.STAN)
	dst = appendStrField(dst, tfRRN, t.RRN)
	dst = appendStrField(dst, tfTxnTime, t.TxnTime)
	dst = appendStrField(dst, tfTerminalID, t.TerminalID)
	dst = appendStrField(dst, tfAcquirerID, t.AcquirerID)
	if t.Fingerprint != 0 {
		dst = append(dst, tfFingerprint<<1|kindVarint)
		dst = binary.AppendUvarint(dst, t.Fingerprint)
	}
	dst = appendStrField(dst, tfIntentID, t.IntentID)
	dst = appendStrField(dst, tfAttestationStatus, t.AttestationStatus)
	dst = appendStrField(dst, tfAccessEventID, t.AccessEventID)
	if t.Notes != nil || len(t.Tags) > 0 || t.Category != nil || t.Receipt != nil {
		raw, err := json.Marshal(annotations{Notes: t.Notes, Tags: t.Tags, Category: t.Category, Receipt: t.Receipt})
		if err != nil {
			return dst, fmt.Errorf("ledger: encode transaction annotations: %w", err)
		}
		dst = appendBytesField(dst, tfAnnotations, raw)
	}
	dst = appendIntField(dst, tfCreatedAt, t.CreatedAt)
	dst = appendIntField(dst, tfUpdatedAt, t.UpdatedAt)
	dst = appendIntField(dst, tfAuthorizedAt, t.AuthorizedAt)
	dst = appendIntField(dst, tfSettledAt, t.SettledAt)
	dst = appendIntField(dst, tfReversedAt, t.ReversedAt)
	dst = appendIntField(dst, tfHoldExpiresAt, t.HoldExpiresAt)
	dst = appendIntField(dst, tfRequestedAmountCents, t.RequestedAmountCents)
	dst = appendIntField(dst, tfAutoSettleAt, t.AutoSettleAt)
	return dst, nil
}

// DecodeTransaction reads a stored transaction record into t, which should
// be zero. Records written as JSON by earlier versions decode too.
func DecodeTransaction(raw []byte, t *model.Transaction) error {
	return decodeTransaction(raw, t, false)
}

// decodeTransactionShared is DecodeTransaction with every string field a
// part of one copy of the record: one allocation instead of one a field
// (about a dozen). For a transaction a decision reads, changes and
// writes back; not for what memory keeps for long, where one kept field
// would keep the whole record.
func decodeTransactionShared(raw []byte, t *model.Transaction) error {
	return decodeTransaction(raw, t, true)
}

func decodeTransaction(raw []byte, t *model.Transaction, shared bool) error {
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, t); err != nil {
			return ErrCorruptTxn
		}
		return nil
	}
	if len(raw) == 0 || raw[0] != txnFormat {
		return ErrCorruptTxn
	}
	body := raw[1:]
	var all string
	if shared {
		all = string(body)
	}
	r := binrec.NewReader(body)
	for r.Len() > 0 && !r.Failed() {
		tag := r.Byte()
		num, kind := tag>>1, tag&1
		if kind == kindBytes {
			v := r.Bytes()
			if r.Failed() {
				break
			}
			if p := txnString(t, num); p != nil {
				if shared {
					end := len(body) - r.Len()
					*p = all[end-len(v) : end]
				} else {
					*p = string(v)
				}
			} else if num == tfAnnotations {
				var a annotations
				if err := json.Unmarshal(v, &a); err != nil {
					return ErrCorruptTxn
				}
				t.Notes, t.Tags, t.Category, t.Receipt = a.Notes, a.Tags, a.Category, a.Receipt
			} else if num < tfLast {
				return ErrCorruptTxn // a known field of the other kind
			}
			continue
		}
		v := r.Uvarint()
		if r.Failed() {
			break
		}
		switch p := txnInt(t, num); {
		case p != nil:
			*p = zigzag(v)
		case num == tfFingerprint:
			t.Fingerprint = v
		case num == tfForcePost:
			t.ForcePost = v != 0
		case num == tfStandIn:
			t.StandIn = v != 0
		case num < tfLast:
			return ErrCorruptTxn
		}
	}
	if r.Failed() {
		return ErrCorruptTxn
	}
	return nil
}

// txnString is the string field numbered num, or nil.
func txnString(t *model.Transaction, num byte) *string {
	switch num {
	case tfID:
		return &t.ID
	case tfCardID:
		return &t.CardID
	case tfAgentID:
		return &t.AgentID
	case tfUserID:
		return &t.UserID
	case tfKind:
		return &t.Kind
	case tfStatus:
		return &t.Status
	case tfCurrency:
		return &t.Currency
	case tfMerchantName:
		return &t.MerchantName
	case tfMerchantID:
		return &t.MerchantID
	case tfMerchantCity:
		return &t.MerchantCity
	case tfMerchantCountry:
		return &t.MerchantCountry
	case tfMCC:
		return &t.MCC
	case tfResponseCode:
		return &t.ResponseCode
	case tfAuthorizationCode:
		return &t.AuthorizationCode
	case tfDeclinedReason:
		return &t.DeclinedReason
	case tfReversalReason:
		return &t.ReversalReason
	case tfOriginalID:
		return &t.OriginalID
	case tfSource:
		return &t.Source
	case tfMTI:
		return &t.MTI
	case tfSTAN:
		return &t.STAN
	case tfRRN:
		return &t.RRN
	case tfTxnTime:
		return &t.TxnTime
	case tfTerminalID:
		return &t.TerminalID
	case tfAcquirerID:
		return &t.AcquirerID
	case tfIntentID:
		return &t.IntentID
	case tfAttestationStatus:
		return &t.AttestationStatus
	case tfAccessEventID:
		return &t.AccessEventID
	}
	return nil
}

// txnInt is the int64 field numbered num, or nil.
func txnInt(t *model.Transaction, num byte) *int64 {
	switch num {
	case tfAmountCents:
		return &t.AmountCents
	case tfAuthorizedAmountCents:
		return &t.AuthorizedAmountCents
	case tfHoldCents:
		return &t.HoldCents
	case tfReversedCents:
		return &t.ReversedCents
	case tfRefundedCents:
		return &t.RefundedCents
	case tfCreatedAt:
		return &t.CreatedAt
	case tfUpdatedAt:
		return &t.UpdatedAt
	case tfAuthorizedAt:
		return &t.AuthorizedAt
	case tfSettledAt:
		return &t.SettledAt
	case tfReversedAt:
		return &t.ReversedAt
	case tfHoldExpiresAt:
		return &t.HoldExpiresAt
	case tfRequestedAmountCents:
		return &t.RequestedAmountCents
	case tfAutoSettleAt:
		return &t.AutoSettleAt
	}
	return nil
}

func appendStrField(dst []byte, num byte, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, num<<1|kindBytes)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytesField(dst []byte, num byte, b []byte) []byte {
	dst = append(dst, num<<1|kindBytes)
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// appendIntField writes v zigzag-encoded, so that small negative amounts
// stay small.
func appendIntField(dst []byte, num byte, v int64) []byte {
	if v == 0 {
		return dst
	}
	dst = append(dst, num<<1|kindVarint)
	return binary.AppendUvarint(dst, uint64(v<<1)^uint64(v>>63))
}

func appendBoolField(dst []byte, num byte, v bool) []byte {
	if !v {
		return dst
	}
	return append(dst, num<<1|kindVarint, 1)
}

func zigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }
