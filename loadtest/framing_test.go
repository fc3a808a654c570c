package loadtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/loadtest"
	"github.com/ledgersim/ledgersim/server"
)

// TestEveryFramingAgainstServer runs the acquirer's repertoire against a
// real server started with each --iso-framing: every request is answered,
// matched and decoded, whatever the length header, and with binary2-tpdu
// every reply carries the generator's TPDU swapped (the generator counts
// any other as a decode error).
func TestEveryFramingAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server and a load per framing")
	}
	for _, f := range []iso.Framing{iso.Binary2, iso.ASCII4, iso.Binary4, iso.Binary2TPDU} {
		t.Run(f.String(), func(t *testing.T) {
			ctx := context.Background()
			env := testenv.Start(t, server.Config{ISOFraming: f.String()})
			st, err := loadtest.Provision(ctx, env.Base, testenv.APIKey, 4, loadtest.ProvisionOptions{Tag: "framing", CardsPerUser: 2})
			require.NoError(t, err)
			res, err := loadtest.Run(ctx, loadtest.Config{
				Target: env.Server.ISOAddr(), Framing: f, Conns: 2, Rate: 200, Duration: 500 * time.Millisecond,
				Timeout: 10 * time.Second, Mix: loadtest.AcquirerMix, Seed: 11, Cards: st.Cards,
			}, nil)
			require.NoError(t, err)
			require.Positive(t, res.Replies)
			require.Equal(t, res.Sent, res.Replies, "every request answered")
			require.Zero(t, res.DecodeErrors)
			require.Zero(t, res.UnmatchedReplies)
			require.Zero(t, res.Errors)
			require.Zero(t, res.Timeouts)
			require.Equal(t, res.Kinds["echo"].Replies, res.Kinds["echo"].Codes["00"])
			require.Positive(t, res.Kinds["auth"].Codes["00"], "%+v", res.Kinds["auth"])
		})
	}
}
