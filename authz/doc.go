// Package authz decides card authorizations. It is pure: a decoded request,
// the card, its agent and its user, and "now" go in; a decision (approve or
// a response code with its reason) and the effects to persist come out. It
// does no I/O and never reads the clock, which is what makes its time
// windows (daily and monthly limits, agent spending periods, card lifetime)
// testable without sleeping.
//
// The same call decides for the ISO 8583 listener, the simulate endpoints and
// the load generator: nothing decides twice.
package authz
