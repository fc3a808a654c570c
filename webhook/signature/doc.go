// Package signature signs and verifies the X-Ledger-Signature header that
// ledgersim puts on every webhook delivery. Receivers import it to check
// that a request came from the server that holds their endpoint's secret
// and that it is recent.
//
// The header is
//
//	X-Ledger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=<hex>...]
//
// where each v1 is the HMAC-SHA256, keyed with a signing secret (the whole
// "whsec_..." string as bytes), of the timestamp in decimal, a full stop and
// the raw request body:
//
//	v1 = hex(HMAC-SHA256(secret, t + "." + body))
//
// During a secret rotation the header carries two v1 values, one per
// secret, the new secret's first. Verify accepts a header when any v1
// matches any of the secrets it is given, so a receiver can deploy its new
// secret before or after the rotation, and can keep both during the overlap.
//
// Verification compares in constant time and reports failures as the
// sentinel errors ErrNoSignature, ErrBadFormat, ErrTooOld and ErrMismatch
// (test with errors.Is). Their messages never contain a secret, a signature
// or the body.
//
// Everything here is a pure function of its arguments and safe for
// concurrent use.
package signature
