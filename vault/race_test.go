//go:build race

package vault

// raceEnabled is true when the tests run with the race detector.
const raceEnabled = true
