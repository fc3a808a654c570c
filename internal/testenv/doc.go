// Package testenv starts a real ledgersim server on loopback with a
// temporary data directory for tests, and gives them a small JSON client.
// It is test support only: nothing in the binary imports it.
package testenv
