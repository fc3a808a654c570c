// Package vault holds ledgersim's card-data keys and everything done with
// them: making Luhn-valid PANs in the configured BIN, sealing a PAN for
// storage (AES-256-GCM bound to its card ID), the keyed hash through which a
// PAN is looked up (HMAC-SHA256), and the CVV2 derivation that lets the CVV
// be checked without ever being stored, as an issuer's HSM derives it.
//
// The three keys live in <data-dir>/keys.json (mode 0600), created on first
// start, or are derived from a master key given by flag or environment.
//
// A Vault is immutable after Open and safe for concurrent use. Nothing in this
// package logs, and no error it returns contains a PAN or a CVV.
//
//	v, err := vault.Open(vault.Config{Dir: dataDir, BIN: "485932"})
//	pan, err := v.NewPAN(rand.Reader)
//	sealed, err := v.Seal(cardID, pan)
//	cvv := v.CVV(pan, "2911")
package vault
