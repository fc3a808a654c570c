package ledger

import "testing"

// TestRecordKindsKeepTheirNumbers pins every record kind's number: it is
// stored in every record of the decision log, so a kind inserted anywhere
// but at the end (or two changes appending different kinds at once) would
// make an older log's records mean something else. A new kind is added to
// the end of the list and of this table.
func TestRecordKindsKeepTheirNumbers(t *testing.T) {
	kinds := []struct {
		kind RecordKind
		want byte
	}{
		{RecOther, 0},
		{RecAuthorization, 1},
		{RecClearing, 2},
		{RecReversal, 3},
		{RecRefund, 4},
		{RecExpiry, 5},
		{RecUser, 6},
		{RecKYC, 7},
		{RecDeposit, 8},
		{RecAgent, 9},
		{RecAgentToken, 10},
		{RecCard, 11},
		{RecCardDetails, 12},
		{RecIntent, 13},
		{RecTransaction, 14},
		{RecReceipt, 15},
		{RecIdempotency, 16},
		{RecHousekeeping, 17},
		{RecPolicy, 18},
		{RecRiskSettings, 19},
		{RecRiskAction, 20},
		{RecPartialApproval, 21},
		{RecIncrement, 22},
		{RecAmountAdvice, 23},
		{RecAutoSettle, 24},
		{RecForceCapture, 25},
		{RecRefundReversal, 26},
		{RecIntentApproval, 27},
		{RecDispute, 28},
		{RecDisputeEvidence, 29},
		{RecDisputeResolution, 30},
		{RecWithdrawal, 31},
		{RecWithdrawalResolution, 32},
		{RecDisputeCancel, 33},
		{RecCardExpiry, 34},
		{RecKYCStatus, 35},
		{RecCardActivation, 36},
	}
	for _, k := range kinds {
		if byte(k.kind) != k.want {
			t.Errorf("record kind %d is stored as %d: kinds are never renumbered", k.want, k.kind)
		}
	}
}
