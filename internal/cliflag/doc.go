// Package cliflag prints a flag set's help in the one style every ledgersim
// command uses: each flag as --name, its meaning, and its default.
//
// The standard library's PrintDefaults writes "-name"; the README and every
// example write "--name" (both parse the same), so the help says what the
// docs say.
package cliflag
