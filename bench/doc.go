// Package bench holds ledgersim's benchmarks and its side-by-side
// comparisons with other issuer-host designs.
package bench
