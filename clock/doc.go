// Package clock holds the time source that the edges of ledgersim pass into
// its pure core.
//
// The decision core (authz, matcher) never reads the wall clock: callers pass
// "now". Everything that needs a current time takes a Clock, so that a test or
// a client running with --clock virtual can move time forward explicitly and
// see intent expiry, attestation windows, daily and monthly limits and hold
// expiry without waiting.
//
// Both implementations are safe for concurrent use.
package clock
