// Package risk is the risk engine: the organization's risk settings (seven
// detection rules, each with an action), their presets, their inheritance
// from the organization to an agent to a card, and the evaluation of one
// transaction against them.
//
// Like authz it is pure: Evaluate takes the transaction, what the decision
// found (drift, a declined cooldown, the intent's outcome) and the card's
// recent history, all as input, and returns findings; it reads no clock
// and does no I/O. The ledger gathers the input under the card's shard
// lock and records each finding's action (an alert event, a frozen card,
// a suspended agent) as a change of its own, or, in dry-run, only what
// would have happened.
//
//	s := risk.MustPreset(risk.PresetStrict)
//	for _, f := range risk.Evaluate(&s, &in) {
//		// f.Rule, f.Action, f.Detail
//	}
//
// Rules:
//
//	duplicateDetection  an approved purchase at the same merchant for the same amount within windowMinutes
//	velocityLimit       more than maxPerHour approved purchases in the last hour, or maxPerDay in the last 24 hours
//	spendSpike          spend in the last windowMinutes above multiplier x the average spend per window over baselineDays
//	unattestedSpend     an approved purchase with no credential access behind it
//	intentMismatch      a purchase that did not match its declared intent
//	cooldownViolation   an attempt during the card's cooldown
//	merchantDrift       a purchase at a merchant other than the card's merchantHint
//
// Concurrency: values are plain data; nothing is shared.
package risk
