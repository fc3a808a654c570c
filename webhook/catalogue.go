package webhook

import "github.com/ledgersim/ledgersim/model"

// EventTest is the type of the event POST /v1/webhooks/{id}/test sends. It
// goes to that one endpoint whatever its subscription and is not kept in the
// event log.
const EventTest = "webhook.test"

// EventTypes lists every event type an endpoint can subscribe to: the
// ledger's event constants, in catalogue order.
var EventTypes = []string{
	model.EvtUserApproved,
	model.EvtUserRejected,
	model.EvtDepositCompleted,
	model.EvtAgentCreated,
	model.EvtAgentSuspended,
	model.EvtAgentActivated,
	model.EvtAgentDeregistered,
	model.EvtAgentLimitExceeded,
	model.EvtCardCreated,
	model.EvtCardFrozen,
	model.EvtCardUnfrozen,
	model.EvtCardClosed,
	model.EvtCardExpired,
	model.EvtCardMerchantDrift,
	model.EvtCardAnomaly,
	model.EvtCredentialAccessed,
	model.EvtIntentMatched,
	model.EvtIntentMismatched,
	model.EvtIntentExpired,
	model.EvtIntentCanceled,
	model.EvtTxnAuthorized,
	model.EvtTxnCompleted,
	model.EvtTxnReversed,
	model.EvtTxnDeclined,
	model.EvtTxnRefunded,
}

var knownTypes = func() map[string]bool {
	m := make(map[string]bool, len(EventTypes))
	for _, t := range EventTypes {
		m[t] = true
	}
	return m
}()

// KnownEventType reports whether t is in EventTypes.
func KnownEventType(t string) bool { return knownTypes[t] }
