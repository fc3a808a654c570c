// Package jsonenc holds the pieces of hand-written JSON encoders that must
// give exactly what encoding/json gives: the records written on every
// authorization and every webhook delivery are encoded without reflection,
// and readers of either form must see the same bytes.
package jsonenc
