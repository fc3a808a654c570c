// Package ledgersimtest runs a real ledgersim inside a Go test: New starts
// the whole server (Pebble store in a temporary directory, the HTTP API and
// the ISO 8583 listener on loopback ports chosen by the system, a virtual
// clock) and stops it when the test ends.
//
//	func TestCheckout(t *testing.T) {
//		ls := ledgersimtest.New(t)
//		user := ls.FundedUser("ada@example.com", 100_00)
//		...
//		ls.Clock.Advance(time.Hour) // the intent expires
//	}
//
// The server is the one `ledgersim serve` runs, not a fake: decisions,
// durability, webhooks and the ISO listener behave as in production.
package ledgersimtest
