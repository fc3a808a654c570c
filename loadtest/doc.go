// Package loadtest is ledgersim's ISO 8583 load generator.
package loadtest
