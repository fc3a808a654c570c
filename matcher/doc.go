// Package matcher matches card authorizations against the pending intents
// declared on their cards. Like authz it is pure: no I/O, no clock reads;
// every call that depends on time takes nowMs (epoch milliseconds).
package matcher
