package keyspace

// Keys of withdrawals and disputes.
const (
	pWithdrawal     = "uw/"  // uw/<withdrawalID>: model.Withdrawal
	pWithdrawalUser = "xuw/" // xuw/<userID>/<withdrawalID>
	pDispute        = "ds/"  // ds/<disputeID>: model.Dispute
	pDisputeUser    = "xdu/" // xdu/<userID>/<disputeID>
	pDisputeTxn     = "xdt/" // xdt/<txnID> -> the transaction's dispute ID
	pDisputeFile    = "dsf/" // dsf/<disputeID>: the evidence file
)

// WithdrawalKey is the key of a withdrawal.
func WithdrawalKey(id string) []byte { return key(pWithdrawal, id) }

// WithdrawalByUserKey indexes a withdrawal under its user.
func WithdrawalByUserKey(userID, id string) []byte { return key(pWithdrawalUser, userID, id) }

// DisputeKey is the key of a dispute.
func DisputeKey(id string) []byte { return key(pDispute, id) }

// DisputeByUserKey indexes a dispute under its user.
func DisputeByUserKey(userID, id string) []byte { return key(pDisputeUser, userID, id) }

// DisputeByTxnKey names a transaction's dispute: a transaction is disputed
// at most once.
func DisputeByTxnKey(txnID string) []byte { return key(pDisputeTxn, txnID) }

// DisputeFileKey is the key of a dispute's evidence file.
func DisputeFileKey(id string) []byte { return key(pDisputeFile, id) }

// Prefixes of the records above.
var (
	WithdrawalPrefix = []byte(pWithdrawal)
	DisputePrefix    = []byte(pDispute)
)
