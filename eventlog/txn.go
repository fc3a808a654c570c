package eventlog

import (
	"encoding/binary"

	"github.com/ledgersim/ledgersim/internal/binrec"
)

// TxnPayload is the data of a transaction event (facts section 9.3).
type TxnPayload struct {
	TransactionID    string
	CardID           string
	AgentID          string
	UserID           string
	Amount           int64
	AuthorizedAmount int64
	Currency         string
	MerchantName     string
	// MCC is shown as both merchantCategoryCode and merchantCategory.
	MCC    string
	Status string
	// The fields below are left out of the JSON when empty (or 0).
	DeclinedReason        string
	PostedAt              int64
	AttestationStatus     string
	IntentID              string
	OriginalTransactionID string
	// RequestedAmount is what a partial approval was asked for (0 when
	// the authorization was not partial). Stored last, so records written
	// before it still read.
	RequestedAmount int64
}

// appendFields writes the fields in declaration order: strings as a uvarint
// length and their bytes, numbers as varints.
func (p *TxnPayload) appendFields(dst []byte) []byte {
	dst = appendString(dst, p.TransactionID)
	dst = appendString(dst, p.CardID)
	dst = appendString(dst, p.AgentID)
	dst = appendString(dst, p.UserID)
	dst = binary.AppendVarint(dst, p.Amount)
	dst = binary.AppendVarint(dst, p.AuthorizedAmount)
	dst = appendString(dst, p.Currency)
	dst = appendString(dst, p.MerchantName)
	dst = appendString(dst, p.MCC)
	dst = appendString(dst, p.Status)
	dst = appendString(dst, p.DeclinedReason)
	dst = binary.AppendVarint(dst, p.PostedAt)
	dst = appendString(dst, p.AttestationStatus)
	dst = appendString(dst, p.IntentID)
	dst = appendString(dst, p.OriginalTransactionID)
	if p.RequestedAmount != 0 {
		dst = binary.AppendVarint(dst, p.RequestedAmount)
	}
	return dst
}

// readFields reads what appendFields wrote; false when the fields cannot
// have been written so (a RequestedAmount of 0 is never written).
func (p *TxnPayload) readFields(r *binrec.Reader) bool {
	p.TransactionID = r.String()
	p.CardID = r.String()
	p.AgentID = r.String()
	p.UserID = r.String()
	p.Amount = r.Varint()
	p.AuthorizedAmount = r.Varint()
	p.Currency = r.String()
	p.MerchantName = r.String()
	p.MCC = r.String()
	p.Status = r.String()
	p.DeclinedReason = r.String()
	p.PostedAt = r.Varint()
	p.AttestationStatus = r.String()
	p.IntentID = r.String()
	p.OriginalTransactionID = r.String()
	if r.Len() > 0 {
		p.RequestedAmount = r.Varint()
		return p.RequestedAmount != 0
	}
	return true
}

// AppendJSON appends the payload as a JSON object, keys in sorted order:
// the same bytes encoding/json gives for Map().
func (p *TxnPayload) AppendJSON(dst []byte) []byte { return p.appendJSON(dst, nil) }

// appendJSON is AppendJSON, with a reversal's fields among the payload's
// when rv is not nil.
func (p *TxnPayload) appendJSON(dst []byte, rv *Reversal) []byte {
	dst = appendKey(dst, '{', "agentId")
	dst = appendJSONString(dst, p.AgentID)
	dst = appendKey(dst, ',', "amount")
	dst = appendInt(dst, p.Amount)
	if p.AttestationStatus != "" {
		dst = appendKey(dst, ',', "attestationStatus")
		dst = appendJSONString(dst, p.AttestationStatus)
	}
	dst = appendKey(dst, ',', "authorizedAmount")
	dst = appendInt(dst, p.AuthorizedAmount)
	dst = appendKey(dst, ',', "cardId")
	dst = appendJSONString(dst, p.CardID)
	dst = appendKey(dst, ',', "currency")
	dst = appendJSONString(dst, p.Currency)
	if p.DeclinedReason != "" {
		dst = appendKey(dst, ',', "declinedReason")
		dst = appendJSONString(dst, p.DeclinedReason)
	}
	if p.IntentID != "" {
		dst = appendKey(dst, ',', "intentId")
		dst = appendJSONString(dst, p.IntentID)
	}
	dst = appendKey(dst, ',', "merchantCategory")
	dst = appendJSONString(dst, p.MCC)
	dst = appendKey(dst, ',', "merchantCategoryCode")
	dst = appendJSONString(dst, p.MCC)
	dst = appendKey(dst, ',', "merchantName")
	dst = appendJSONString(dst, p.MerchantName)
	if rv != nil {
		dst = appendKey(dst, ',', "originalAmount")
		dst = appendInt(dst, rv.OriginalAmount)
	}
	if p.OriginalTransactionID != "" {
		dst = appendKey(dst, ',', "originalTransactionId")
		dst = appendJSONString(dst, p.OriginalTransactionID)
	}
	if p.PostedAt != 0 {
		dst = appendKey(dst, ',', "postedAt")
		dst = appendInt(dst, p.PostedAt)
	}
	if rv != nil {
		dst = appendKey(dst, ',', "reason")
		dst = appendJSONString(dst, rv.Reason)
	}
	if p.RequestedAmount != 0 {
		dst = appendKey(dst, ',', "requestedAmount")
		dst = appendInt(dst, p.RequestedAmount)
	}
	if rv != nil {
		dst = appendKey(dst, ',', "reversedAmount")
		dst = appendInt(dst, rv.ReversedAmount)
	}
	dst = appendKey(dst, ',', "status")
	dst = appendJSONString(dst, p.Status)
	dst = appendKey(dst, ',', "transactionId")
	dst = appendJSONString(dst, p.TransactionID)
	dst = appendKey(dst, ',', "userId")
	dst = appendJSONString(dst, p.UserID)
	return append(dst, '}')
}

// Map is the payload as a generic JSON object, for events that add fields
// to it (a reversal adds its amounts and reason).
func (p *TxnPayload) Map() map[string]any {
	m := map[string]any{"transactionId": p.TransactionID, "cardId": p.CardID, "agentId": p.AgentID, "userId": p.UserID,
		"amount": p.Amount, "authorizedAmount": p.AuthorizedAmount, "currency": p.Currency,
		"merchantName": p.MerchantName, "merchantCategoryCode": p.MCC, "merchantCategory": p.MCC, "status": p.Status}
	if p.DeclinedReason != "" {
		m["declinedReason"] = p.DeclinedReason
	}
	if p.PostedAt != 0 {
		m["postedAt"] = p.PostedAt
	}
	if p.AttestationStatus != "" {
		m["attestationStatus"] = p.AttestationStatus
	}
	if p.IntentID != "" {
		m["intentId"] = p.IntentID
	}
	if p.OriginalTransactionID != "" {
		m["originalTransactionId"] = p.OriginalTransactionID
	}
	if p.RequestedAmount != 0 {
		m["requestedAmount"] = p.RequestedAmount
	}
	return m
}
