// Package matcher matches card authorizations against the spending intents
// declared on their cards, and normalizes the merchant names it compares.
//
// It holds two things:
//
//   - Merchant normalization. Normalize and AppendNormalized reduce a name
//     to a canonical key (case, punctuation, processor prefixes such as
//     "SQ *", corporate suffixes, store numbers and web domains removed;
//     known descriptors mapped to their brand through the alias table in
//     tables.go). MerchantMatches decides whether a card-network descriptor
//     ("SQ *BLUE BOTTLE #12") names the merchant a person expected ("Blue
//     Bottle Coffee").
//   - The Index of pending intents. It keeps the intents of many cards and,
//     for each authorization, picks the intent it resolves: the oldest that
//     matches on amount and merchant (matched), or else the best candidate
//     (mismatched). It removes the intent it picks and reports it; the
//     caller records the transition and renders matchResult.
//
// Like authz, the package is pure: it does no I/O and never reads the
// clock. Every call that depends on time takes nowMs, epoch milliseconds,
// from the caller, which is what lets tests move time by hand.
//
// # Usage
//
// The caller keeps one Index per lock shard, adds an intent when it is
// created, and matches each authorization on the card:
//
//	ix := matcher.NewIndex()
//	ix.Add(matcher.Pending{
//		ID: "int_abc123", CardID: "card_xyz789",
//		HasAmount: true, ExpectedCents: 2500, ToleranceCents: 500,
//		Merchant:  "DoorDash",
//		CreatedMs: nowMs, ExpiresMs: nowMs + 30*60*1000,
//	})
//	// Card details were read under the intent: it now waits 24 hours.
//	ix.SetExpiry("int_abc123", nowMs+24*60*60*1000)
//
//	res := ix.Match("card_xyz789", 2450, "DOORDASH*BURGERPLACE", nowMs)
//	switch {
//	case !res.Found: // no pending intent on the card
//	case res.Matched: // res.IntentID becomes matched
//	default: // res.IntentID becomes mismatched; res.AmountMatch and
//		// res.MerchantMatch say which criterion failed
//	}
//
//	// On a timer: pending intents whose TTL has passed become expired.
//	ix.Expire(nowMs, func(p matcher.Pending) { /* record p.ID as expired */ })
//
// A canceled intent, or one the caller resolves itself, leaves with
// Remove.
//
// # Concurrency
//
// Nothing in this package locks. An Index is not safe for concurrent use:
// the caller serializes every call on it, normally by holding the lock of
// the shard that owns the cards (the authorization decision already holds
// it). Callbacks passed to Pending and Expire run under that same lock and
// must not call back into the Index. Normalize, AppendNormalized and
// MerchantMatches keep no state and may be called from any goroutine.
//
// # Cost
//
// Match does not allocate and does not depend on the size of the index:
// it reads one card-table slot and the card's intents, which sit together
// in one slice. Expire pops expiring intents from a min-heap, so it costs
// in proportion to what expires. An intent costs about 175 bytes of heap
// with ten intents per card (bench_test.go measures it; BENCHMARKS.md has
// the figures).
package matcher
