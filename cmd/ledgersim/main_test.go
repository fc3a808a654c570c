package main

import (
	"os"
	"testing"

	"github.com/ledgersim/ledgersim/internal/testenv"
)

// TestMain removes the server binary the process tests built (about 35 MB
// in the temporary directory per run otherwise).
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
}
