// Package verify checks the invariants of a ledgersim store: the facts
// that every sequence of ledger operations must leave true, so that a
// store that breaks one was corrupted, or was written by a bug.
//
// Usage, on a stopped server's data directory or a snapshot or copy of it
// (Pebble takes a lock, so a running server's directory cannot be opened):
//
//	ledgersim verify --data-dir ./data [--card-key HEX] [--json]
//
// --card-key is the master key the server ran with; without it the card
// keys are read from keys.json in the data directory. verify never creates
// a store or keys: a directory without them is an error. It prints, for
// each invariant, how many records it examined and how many breaches it
// found, with up to MaxExamples example breaches, and exits 0 when every
// invariant holds, 1 on any breach and 2 on a usage error or a store or
// key file it cannot open. From Go, Run returns the same Report.
//
// The checks:
//
//   - balances: for every user, pendingCents is the sum of holdCents of its
//     authorized transactions (and no other transaction holds anything);
//     depositedCents is the sum of its deposit.completed events' amounts
//     less those of its withdrawal.submitted events plus those of its
//     withdrawal.failed events;
//     settledCents is depositedCents, less the amountCents of its completed
//     purchases, plus the amountCents of its completed refunds, less the
//     refundedCents of its purchases reversed after completion; and
//     available = settled − pending ≥ 0. A user overdrawn by no more than
//     its force posts, stand-in advices (0120) and over-captures is listed
//     as a note, not a breach: those are posted whatever the balance.
//
//   - resolved-once: per transaction at most one transaction.completed
//     event; exactly one for a completed purchase; a reversed transaction
//     has exactly one transaction.reversed event that reversed it in full,
//     and no other transaction has one; no transaction.completed after a
//     full reversal (in event ID order) and none on an authorized
//     transaction. (The store keeps no index of open authorizations:
//     memory holds them, and a restart finds them among the transactions.)
//
//   - agent-spend: for agents with a spending limit and onLimitExceeded
//     none or suspend, the spend of the current window (authz.AgentSpend)
//     is within the limit. Spend above it that the window's over-captures
//     and advices account for is a note; agents with notify are counted.
//
//   - events: every ID an event's payload names (transactionId, cardId,
//     userId, agentId, intentId, accessEventId, originalTransactionId)
//     exists; every transaction has the event that created it (declined,
//     refunded, completed for a force post, authorized otherwise) and
//     names an existing user, card and agent; every card has card.created,
//     every agent agent.created, every approved user user.approved.
//
//   - pan-index: every card's sealed PAN opens with the vault key bound to
//     its card ID, is Luhn-valid, hashes to its PANHash and matches its BIN
//     and last four; no two cards share a PANHash; every durable original
//     key (xos/, xor/) names an approved purchase with those network
//     references.
//
//   - log-replay: the decision log, replayed into an empty store up to the
//     last record the store took, gives the store: same values for every
//     key the records wrote, gone every key they deleted last, and (when
//     the log starts at the store's first change) no ledger key the
//     records did not write (ledger.CheckStoreAgainstLog). The command
//     first replays into the store what a crash kept from it
//     (ledger.CatchUpStore), as a restart would.
//
//   - checkpoint: the ledger is opened twice on a copy of the data
//     directory (pebble/, log/ and checkpoints/ copied to a temporary
//     directory, removed after; opening a ledger writes, so the directory
//     verified is only read, at the cost of the disk the copy takes): once
//     from its newest memory checkpoint and the log after it, as a restart
//     does, and once rebuilding memory from the store with checkpoints
//     ignored. Memory's tables (open holds, originals, transaction lists,
//     events by type, repeat window) must agree (ledger.CompareMemory);
//     each entry that differs is a breach, named by its table and an ID
//     (or an event type, or a repeat entry's key hash). A newest
//     checkpoint a restart does not load is a breach too. Both opens use
//     the checkpoint's own number of user shards and repeat window, and
//     the time of the store's newest event as their clock. A directory
//     without a memory checkpoint skips the check (examined 0). The
//     command runs it before it opens the store; Run leaves it out (it
//     is given a store, not a directory).
//
//   - disputes: every dispute names an existing purchase of its own user,
//     card and agent and is the only dispute of it; its status and outcome
//     agree (accepted is won, rejected is lost, an open one has neither
//     outcome nor credit); a credit names a completed refund of the
//     disputed purchase, made by the dispute, of exactly the credited
//     amount, and every refund a dispute made is the credit of one; every
//     dispute has one dispute.created event, a resolved one one
//     dispute.resolved and an open one none.
//
// Time: the agent-spend check needs a "now". The command uses the creation
// time of the store's newest event (the wall clock only for a store
// without events): it is when the state last changed, it is the same for a
// store and every copy of it, and it follows a virtual clock, which the
// wall clock does not.
//
// Card data: verify opens each sealed PAN only to check it, inside the
// check of its own card. Reports name records by ID only (with amounts in
// cents where they explain a breach): nothing verify prints or returns
// holds a PAN, a PAN hash, a CVV or a key. Every string taken from the
// store passes through a filter that replaces anything that is not a plain
// short identifier, or that holds a run of 12 or more digits, before it
// reaches a report.
//
// Limits: the store keeps no history of an agent's limit, so a limit
// lowered after spending within the window reads as a breach (the example
// says when the agent was updated in the window). Event order is ID order;
// IDs made by a restarted process within the same millisecond as earlier
// ones (a virtual clock that was not advanced) can sort before them.
package verify
