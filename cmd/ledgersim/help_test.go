package main

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHelp: --help without a command lists the commands, and every
// command's help writes its flags in the --flag style the docs use.
func TestHelp(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"commands:", "serve", "loadtest", "verify", "version"}},
		{[]string{"-h"}, []string{"commands:", "loadtest"}},
		{[]string{"help"}, []string{"commands:", "verify"}},
		{[]string{"serve", "--help"}, []string{"usage: ledgersim serve", "--data-dir", "--http-addr", "--log-level"}},
		{[]string{"loadtest", "--help"}, []string{"usage: ledgersim loadtest", "--target", "--rate"}},
		{[]string{"verify", "--help"}, []string{"usage: ledgersim verify", "--data-dir", "--json"}},
		{[]string{"mcp", "--help"}, []string{"usage: ledgersim mcp", "--api", "--agent-token", "--transport"}},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		require.Equal(t, 0, run(c.args, &out, &errOut), c.args)
		text := out.String() + errOut.String()
		for _, w := range c.want {
			require.Contains(t, text, w, c.args)
		}
		require.NotContains(t, text, "Usage of", c.args)
		require.NotRegexp(t, regexp.MustCompile(`(?m)^\s+-[a-z]`), text, "flags are written --name: %v", c.args)
	}
}

// TestServeRefusesBadDurations: a flag that is not a valid duration, or
// one outside its range, stops serve with status 2 and names the flag,
// before anything is opened.
func TestServeRefusesBadDurations(t *testing.T) {
	cases := []struct {
		flag, value string
	}{
		{"--log-sync-interval", "soon"},
		{"--log-sync-interval", "0s"},
		{"--log-sync-interval", "2s"},
		{"--log-retention", "-1m"},
		{"--hold-expiry", "0s"},
		{"--checkpoint-interval", "0s"},
		{"--checkpoint-interval", "often"},
		{"--checkpoint-records", "0"},
		{"--checkpoint-records", "many"},
		{"--snapshot-interval", "0s"},
		{"--snapshot-interval", "hourly"},
		{"--snapshot-records", "0"},
		{"--snapshot-records", "lots"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run([]string{"serve", "--data-dir", t.TempDir(), c.flag, c.value}, &out, &errOut)
		require.Equal(t, 2, code, "%s %s", c.flag, c.value)
		require.Contains(t, errOut.String(), "bad "+c.flag, "%s %s", c.flag, c.value)
	}
}
