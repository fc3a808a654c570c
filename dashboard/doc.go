// Package dashboard is the web page ledgersim serves at "/": a look at what
// the simulator is doing (authorization rate and decline reasons, users,
// agents, cards, transactions, intents, webhook deliveries) and buttons for
// the simulate endpoints.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary; it
// talks to the management API with the key the visitor enters (kept in the
// browser's session storage, sent as the Api-Key header), so it can see and
// do exactly what that key can. The only route of its own is
// GET /dashboard/stats, the live counters read from the event log.
//
// Card numbers and CVVs appear only in the card-details view of a rawPan
// card, after an explicit, attested read; everywhere else a card shows its
// last four digits.
package dashboard
