package cliflag

import (
	"bytes"
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPrint(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("data-dir", "./data", "the `dir` holding the store")
	fs.String("api-key", "lk_from_env_secret", "the API key")
	fs.Bool("json", false, "print JSON")
	fs.Int("cards", 0, "how many cards")
	fs.String("hidden", "", "not shown")
	var b bytes.Buffer
	Print(&b, fs, func(n string) bool { return n == "hidden" })
	out := b.String()
	require.Contains(t, out, "  --data-dir dir\n      the dir holding the store (default ./data)\n")
	require.Contains(t, out, "  --json\n      print JSON\n")
	require.Contains(t, out, "  --cards int\n      how many cards\n")
	require.Contains(t, out, "  --api-key string\n      the API key\n")
	require.NotContains(t, out, "lk_from_env_secret", "a key's default may come from the environment")
	require.NotContains(t, out, "hidden")
	require.NotRegexp(t, `(?m)^  -[a-z]`, out, "every flag is written --name")
}
