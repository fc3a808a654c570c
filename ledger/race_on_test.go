//go:build race

package ledger_test

// raceEnabled is true under the race detector, which makes allocations
// of its own (a fixed number per authorization: see maxAuthorizeAllocs).
const raceEnabled = true
