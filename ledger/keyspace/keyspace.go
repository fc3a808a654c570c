package keyspace

import (
	"fmt"
	"strconv"
)

// Key layout. Every key is an ASCII prefix naming the record kind, then IDs
// separated by '/'. IDs never contain '/'. Records sort by ID, and IDs sort by
// creation time, so a prefix scan lists records in creation order.
const (
	pUser        = "u/"  // u/<userID>: model.User
	pAgent       = "a/"  // a/<agentID>: model.Agent
	pCard        = "c/"  // c/<cardID>: model.Card
	pToken       = "k/"  // k/<tokenID>: model.AgentToken
	pAccess      = "ae/" // ae/<accessEventID>: model.AccessEvent
	pEvent       = "e/"  // e/<eventID>: model.Event
	pIdem        = "i/"  // i/<scope hash>: idempotency record
	pTxn         = "t/"  // t/<txnID>: transaction
	pIntent      = "n/"  // n/<intentID>: intent
	pAgentByUser = "xau/"
	pCardByAgent = "xca/"
	pCardByUser  = "xcu/"
	pTxnByCard   = "xtc/"
	pTxnByUser   = "xtu/"
	pTxnByAgent  = "xta/"
	pAccessCard  = "xac/"
	pEventByType = "xet/"
	pOpen        = "xo/"  // xo/<txnID>: an authorization that still holds funds
	pReceipt     = "rc/"  // rc/<txnID>: a receipt file
	pIntentCard  = "xci/" // xci/<cardID>/<intentID>
	pIntentKey   = "xik/" // xik/<cardID>/<client intentId> -> intent ID
	pDetailsTok  = "dt/"  // dt/<token hash>: model.DetailsToken
	pOrigSTAN    = "xos/" // xos/<STAN>|<DE 7>|<cardID> -> txnID of an approved purchase
	pOrigRRN     = "xor/" // xor/<RRN>|<approval code>|<cardID> -> txnID
	pFollowUp    = "xfu/" // xfu/<ms>/<repeat key>: a clearing's or reversal's first reply
	pBalance     = "ub/"  // ub/<userID>: a user's balance, the hot part of u/
	pUsage       = "cu/"  // cu/<cardID>: a card's usage counters, the hot part of c/
	pSpend       = "as/"  // as/<agentID>: an agent's spend window, the hot part of a/
	pOutbox      = "o/"   // o/<eventID>: an event not yet handed to webhook delivery (layout 3 and before)
)

func key(parts ...string) []byte {
	// Exactly the key's length: a key of up to 32 bytes is then made on
	// its caller's stack when it does not outlive the call.
	n := max(len(parts)-2, 0)
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 1 {
			b = append(b, '/')
		}
		b = append(b, p...)
	}
	return b
}

// UserKey is the key of a user record.
func UserKey(id string) []byte { return key(pUser, id) }

// AgentKey is the key of an agent record.
func AgentKey(id string) []byte { return key(pAgent, id) }

// CardKey is the key of a card record.
func CardKey(id string) []byte { return key(pCard, id) }

// TokenKey is the key of an agent-token record.
func TokenKey(id string) []byte { return key(pToken, id) }

// AccessEventKey is the key of a card-details access record.
func AccessEventKey(id string) []byte { return key(pAccess, id) }

// EventKey is the key of an event record.
func EventKey(id string) []byte { return key(pEvent, id) }

// IdemKey is the key of an idempotency record; scope is already hashed.
func IdemKey(scope string) []byte { return key(pIdem, scope) }

// TxnKey is the key of a transaction record.
func TxnKey(id string) []byte { return key(pTxn, id) }

// IntentKey is the key of an intent record.
func IntentKey(id string) []byte { return key(pIntent, id) }

// Index keys: empty values whose key carries the parent and the child ID, so
// that a prefix scan over the parent lists the children in creation order.

// AgentByUserKey indexes an agent under its user.
func AgentByUserKey(userID, agentID string) []byte { return key(pAgentByUser, userID, agentID) }

// CardByAgentKey indexes a card under its agent.
func CardByAgentKey(agentID, cardID string) []byte { return key(pCardByAgent, agentID, cardID) }

// CardByUserKey indexes a card under its user.
func CardByUserKey(userID, cardID string) []byte { return key(pCardByUser, userID, cardID) }

// TxnByCardKey indexes a transaction under its card.
func TxnByCardKey(cardID, txnID string) []byte { return key(pTxnByCard, cardID, txnID) }

// TxnByUserKey indexes a transaction under its user.
func TxnByUserKey(userID, txnID string) []byte { return key(pTxnByUser, userID, txnID) }

// TxnByAgentKey indexes a transaction under its agent.
func TxnByAgentKey(agentID, txnID string) []byte { return key(pTxnByAgent, agentID, txnID) }

// AccessByCardKey indexes an access event under its card.
func AccessByCardKey(cardID, evID string) []byte { return key(pAccessCard, cardID, evID) }

// EventByTypeKey indexes an event under its type.
func EventByTypeKey(typ, evID string) []byte { return key(pEventByType, typ, evID) }

// OutboxKey marked an event as not yet handed to webhook delivery, in
// stores of layout 3 and before. Nothing writes it now (webhook delivery
// reads the decision log); the webhook service delivers and deletes the
// markers an old store still holds.
func OutboxKey(evID string) []byte { return key(pOutbox, evID) }

// IntentByCardKey indexes an intent under its card.
func IntentByCardKey(cardID, intentID string) []byte { return key(pIntentCard, cardID, intentID) }

// IntentClientKey maps a card's client intentId to the intent, which makes
// creating an intent idempotent.
func IntentClientKey(cardID, clientID string) []byte { return key(pIntentKey, cardID, clientID) }

// DetailsTokenKey is the key of a details token, by the hash of the token.
func DetailsTokenKey(hashHex string) []byte { return key(pDetailsTok, hashHex) }

// OrigSTANKey finds a card's approved purchase by its STAN and DE 7 (as
// DE 90 quotes them). Without the card (no DE 2), OrigSTANPrefix of the
// references finds every card's.
func OrigSTANKey(stan, txnTime, cardID string) []byte {
	return key(pOrigSTAN, stan+"|"+txnTime+"|"+cardID)
}

// OrigSTANRefs is the prefix of every card's purchases with this STAN and
// DE 7.
func OrigSTANRefs(stan, txnTime string) []byte { return key(pOrigSTAN, stan+"|"+txnTime+"|") }

// OrigRRNKey finds a card's approved purchase by its RRN and approval code.
func OrigRRNKey(rrn, authCode, cardID string) []byte {
	return key(pOrigRRN, rrn+"|"+authCode+"|"+cardID)
}

// OrigRRNRefs is the prefix of every card's purchases with this RRN and
// approval code.
func OrigRRNRefs(rrn, authCode string) []byte { return key(pOrigRRN, rrn+"|"+authCode+"|") }

// FollowUpKey records a clearing's or a reversal's first reply under the
// time it was made, so a restart reloads only those within the repeat
// window and old ones are dropped by one range deletion.
func FollowUpKey(ms int64, repeatKey string) []byte {
	return key(pFollowUp, fmt.Sprintf("%013d", ms)+"/"+repeatKey)
}

// AppendFollowUpKey appends FollowUpKey(ms, repeatKey) to dst, for a
// caller that builds the key in a buffer of its own.
func AppendFollowUpKey(dst []byte, ms int64, repeatKey []byte) []byte {
	dst = append(dst, pFollowUp...)
	if ms < 0 {
		dst = fmt.Appendf(dst, "%013d", ms)
	} else {
		var d [20]byte
		digits := strconv.AppendInt(d[:0], ms, 10)
		for i := len(digits); i < 13; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	}
	dst = append(dst, '/')
	return append(dst, repeatKey...)
}

// FollowUpFloor is the first follow-up key at or after ms.
func FollowUpFloor(ms int64) []byte { return key(pFollowUp, fmt.Sprintf("%013d", ms)) }

// BalanceKey, UsageKey and SpendKey hold the parts of a user, card and
// agent that every authorization changes. An authorization writes these few
// bytes instead of the whole record; the whole record is written (with its
// delta) on management changes, and a rebuild lays the delta over it.
func BalanceKey(userID string) []byte { return key(pBalance, userID) }

// UsageKey is the key of a card's usage counters.
func UsageKey(cardID string) []byte { return key(pUsage, cardID) }

// SpendKey is the key of an agent's spend window.
func SpendKey(agentID string) []byte { return key(pSpend, agentID) }

// OpenKey marks an authorization that still holds funds; the set of these
// keys is what a restart rebuilds the holds from.
func OpenKey(txnID string) []byte { return key(pOpen, txnID) }

// ReceiptKey is the key of a receipt file.
func ReceiptKey(txnID string) []byte { return key(pReceipt, txnID) }

// Prefixes for scans.
var (
	UsersPrefix  = []byte(pUser)
	AgentsPrefix = []byte(pAgent)
	CardsPrefix  = []byte(pCard)
	TokensPrefix = []byte(pToken)
	EventsPrefix = []byte(pEvent)
	TxnsPrefix   = []byte(pTxn)
	IntentPrefix = []byte(pIntent)
	AccessPrefix = []byte(pAccess)
	OutboxPrefix = []byte(pOutbox)
	OpenPrefix   = []byte(pOpen)
	// OrigSTANPrefix and OrigRRNPrefix hold the durable original indexes.
	OrigSTANPrefix = []byte(pOrigSTAN)
	OrigRRNPrefix  = []byte(pOrigRRN)
	FollowPrefix   = []byte(pFollowUp)
	BalancePrefix  = []byte(pBalance)
	UsagePrefix    = []byte(pUsage)
	SpendPrefix    = []byte(pSpend)
)

// ChildPrefix is the scan prefix of an index: kind is one of the index
// prefixes (e.g. the result of AgentByUserKey(parent, "") without its tail).
func ChildPrefix(indexKey func(parent, child string) []byte, parent string) []byte {
	return indexKey(parent, "")
}

// ProjectedPrefixes are the key families the ledger writes through its
// decision records: everything in the store but server metadata (m/),
// receipt and dispute evidence files (rc/, dsf/: blobs written beside the
// records), the outbox markers of old stores (o/, which webhook delivery
// consumes) and the webhook package's own keys.
// Idempotency records (i/) are among them, though the webhook endpoints
// and the virtual clock also write some of their own. The transaction
// list indexes (xtc/, xtu/, xta/) and the event-type index (xet/) are
// not: records carry them, but the ledger keeps them in memory; nor are
// the open-hold markers (xo/) and the originals' indexes (xos/, xor/),
// which memory alone holds.
var ProjectedPrefixes = [][]byte{
	[]byte(pUser), []byte(pAgent), []byte(pCard), []byte(pToken), []byte(pAccess), []byte(pEvent), []byte(pIdem),
	[]byte(pTxn), []byte(pIntent), []byte(pAgentByUser), []byte(pCardByAgent), []byte(pCardByUser),
	[]byte(pAccessCard),
	[]byte(pIntentCard), []byte(pIntentKey), []byte(pDetailsTok), []byte(pFollowUp), []byte(pBalance), []byte(pUsage), []byte(pSpend),
	[]byte(pWithdrawal), []byte(pWithdrawalUser), []byte(pDispute), []byte(pDisputeUser), []byte(pDisputeTxn),
}

// IdemPrefix is the idempotency records' family.
var IdemPrefix = []byte(pIdem)

// Transaction list index families: records carry them, and the ledger
// projects them into memory, not into the store.
var (
	TxnByCardPrefix  = []byte(pTxnByCard)
	TxnByUserPrefix  = []byte(pTxnByUser)
	TxnByAgentPrefix = []byte(pTxnByAgent)
)

// EventByTypePrefix is the event-type index family: records carry it, and
// the ledger projects it into memory, not into the store.
var EventByTypePrefix = []byte(pEventByType)
