package main

import (
	"io"

	"github.com/ledgersim/ledgersim/verify"
)

// verifyCmd is `ledgersim verify`: it checks the invariants of a stopped
// server's store (or a copy of it) and exits 0 when they all hold, 1 on a
// breach, 2 on a usage or open error. The command lives in package verify
// so that its tests sit next to the checks they exercise.
//
//	ledgersim verify --data-dir ./data [--card-key HEX] [--json]
func verifyCmd(args []string, stdout, stderr io.Writer) int {
	return verify.Main(args, stdout, stderr)
}
