//go:build race

package matcher

// raceEnabled is true when the tests run with the race detector, which
// slows them about tenfold; the million-intent test skips itself then.
const raceEnabled = true
