package eventlog

import "github.com/ledgersim/ledgersim/model"

// typeCodes are the one-byte codes binary records store for event types.
// They are part of the stored format: a code is never renumbered or reused.
// A type without a code is stored as code 0 followed by its name.
var typeCodes = map[string]byte{
	model.EvtUserApproved:          1,
	model.EvtUserRejected:          2,
	model.EvtDepositCompleted:      3,
	model.EvtAgentCreated:          4,
	model.EvtAgentSuspended:        5,
	model.EvtAgentActivated:        6,
	model.EvtAgentDeregistered:     7,
	model.EvtAgentLimitExceeded:    8,
	model.EvtCardCreated:           9,
	model.EvtCardFrozen:            10,
	model.EvtCardUnfrozen:          11,
	model.EvtCardClosed:            12,
	model.EvtCardExpired:           13,
	model.EvtCardMerchantDrift:     14,
	model.EvtCardAnomaly:           15,
	model.EvtCredentialAccessed:    16,
	model.EvtIntentMatched:         17,
	model.EvtIntentMismatched:      18,
	model.EvtIntentExpired:         19,
	model.EvtIntentCanceled:        20,
	model.EvtTxnAuthorized:         21,
	model.EvtTxnCompleted:          22,
	model.EvtTxnReversed:           23,
	model.EvtTxnDeclined:           24,
	model.EvtTxnRefunded:           25,
	model.EvtPolicyCreated:         26,
	model.EvtPolicyUpdated:         27,
	model.EvtCardAutoFrozen:        28,
	model.EvtAgentAutoSuspended:    29,
	model.EvtRiskAlert:             30,
	model.EvtRiskSettingsUpdated:   31,
	model.EvtIntentPendingApproval: 32,
	model.EvtIntentApproved:        33,
	model.EvtIntentRejected:        34,
	model.EvtDisputeCreated:        35,
	model.EvtDisputeResolved:       36,
	model.EvtWithdrawalSubmitted:   37,
	model.EvtWithdrawalConfirmed:   38,
	model.EvtWithdrawalFailed:      39,
	model.EvtDisputeCanceled:       40,
	model.EvtUserNeedsInfo:         41,
	model.EvtUserUpdated:           42,
	model.EvtCardActivated:         43,
}

// typeNames is typeCodes inverted.
var typeNames = func() [256]string {
	var names [256]string
	for t, c := range typeCodes {
		names[c] = t
	}
	return names
}()
