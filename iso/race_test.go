//go:build race

package iso

// raceEnabled is true when the tests run with the race detector, under
// which sync.Pool drops what it is given at random: allocation counts are
// then noise.
const raceEnabled = true
