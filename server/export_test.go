package server

// FailedSyncAnswersNothingApproved runs, for the ISO response-code table in
// package server_test, the check that needs a filesystem failing on demand
// under a real ledger (isohost_durable_test.go).
var FailedSyncAnswersNothingApproved = failedSyncAnswersNothingApproved
