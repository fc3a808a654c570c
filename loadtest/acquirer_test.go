package loadtest_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/loadtest"
	"github.com/ledgersim/ledgersim/server"
	"github.com/ledgersim/ledgersim/verify"
)

// TestAcquirerRunAgainstNoReplyRule runs the acquirer's whole repertoire
// against a real server on loopback while a fault rule leaves 5% of the
// 0100s without a reply. The run reports those timeouts and sends an 0400
// reversal for each, as an acquirer does; every other kind is sent and
// answered; and afterwards `ledgersim verify` finds every invariant
// holding in the server's data directory.
func TestAcquirerRunAgainstNoReplyRule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server and a load for a few seconds")
	}
	ctx := context.Background()
	env := testenv.Start(t, server.Config{})
	st, err := loadtest.Provision(ctx, env.Base, testenv.APIKey, 12, loadtest.ProvisionOptions{Tag: "acquirer", CardsPerUser: 3})
	require.NoError(t, err)
	rule := env.Must(201, "POST", "/v1/simulate/faults", map[string]any{"mti": "0100", "action": "noReply", "percent": 5})

	res, err := loadtest.Run(ctx, loadtest.Config{
		Target: env.Server.ISOAddr(), Conns: 2, Rate: 300, Duration: 2 * time.Second, Timeout: 500 * time.Millisecond,
		Mix: loadtest.AcquirerMix, Seed: 7, Cards: st.Cards,
	}, nil)
	require.NoError(t, err)
	var text bytes.Buffer
	res.WriteText(&text)
	t.Logf("\n%s", text.String())

	// Every request the rule matched timed out, and nothing else did.
	var matched int64
	for _, r := range env.Must(200, "GET", "/v1/simulate/faults", nil).Data() {
		if r["id"] == rule.Str("id") {
			matched = int64(r["matched"].(float64))
		}
	}
	require.Positive(t, matched)
	require.Equal(t, matched, res.Timeouts, "the noReply requests are the run's timeouts")
	require.Zero(t, res.Errors)
	require.Zero(t, res.LateReplies)
	require.Zero(t, res.UnmatchedReplies)
	require.Equal(t, res.Sent, res.Replies+res.Timeouts)

	// Each timeout is followed by its reversal, and every reversal is
	// answered.
	rev := res.Kinds["timeout_reversal"]
	require.Equal(t, res.Timeouts, res.TimeoutReversals+res.TimeoutReversalsUnsent)
	require.Zero(t, res.TimeoutReversalsUnsent)
	require.Equal(t, rev.Sent, rev.Replies)
	require.Positive(t, rev.Codes["00"], "reversals of the purchases left unanswered: %v", rev.Codes)
	require.Equal(t, rev.Replies, rev.Codes["00"]+rev.Codes["25"], "a reversal of a declined original finds nothing to reverse: %v", rev.Codes)
	require.Zero(t, rev.Unexpected)

	// The acquirer's other messages went out and came back.
	for _, k := range []string{"partial", "increment", "advice", "financial", "reversal_advice", "echo"} {
		require.Positive(t, res.Kinds[k].Replies, "%s: %+v", k, res.Kinds[k])
	}
	require.Equal(t, res.Kinds["echo"].Replies, res.Kinds["echo"].Codes["00"])
	require.Equal(t, res.Kinds["advice"].Replies, res.Kinds["advice"].Codes["00"], "advices are never declined")

	env.Stop()
	var out, errOut bytes.Buffer
	code := verify.Main([]string{"--data-dir", env.Dir}, &out, &errOut)
	require.Equal(t, verify.ExitOK, code, "verify:\n%s%s", out.String(), errOut.String())
}
