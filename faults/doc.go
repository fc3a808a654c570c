// Package faults holds the fault-injection rules that make the ISO 8583
// listener misbehave on purpose, so that an acquirer's timeout, retry and
// reversal handling can be exercised (the profile's "Fault injection").
//
// A rule names what it matches (any of a card ID, the PAN's last four
// digits, the request MTI and an amount range; a rule that names nothing
// matches every request the listener hands to its handler) and what it
// does: delay the reply by DelayMs, send no reply, send the reply twice,
// close the connection instead of replying, or decline with ResponseCode
// instead of deciding. It applies to Percent of the requests it matches
// (default 100) and to at most Count of them (default unlimited).
//
// Which requests a percentage picks is deterministic: each rule counts the
// requests it matches and applies to the n-th exactly when ceil(n*Percent/100)
// steps up, so the first matching request is always picked and then one in
// every 100/Percent, with no random source to seed. Rules are tried in the
// order they were added; the first one that applies wins, and a rule whose
// percentage passes a request over leaves it to the rules after it.
//
// Rules are test configuration, held in memory only: they do not survive a
// restart unless the server is started with them (ledgersim serve --faults
// FILE, a JSON array of rule objects, see Parse). Each rule counts the
// requests it was applied to (Rule.Matched), and the set counts injected
// faults by action in a Prometheus counter on the registry it is given.
//
// What a fault does on the wire is the ISO listener's business (package iso,
// Response.Fault); deciding and recording is the ledger's. This package only
// says which rule applies to a request. A Set is safe for concurrent use;
// Match costs one atomic load while there are no rules.
package faults
