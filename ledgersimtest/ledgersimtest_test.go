package ledgersimtest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/client"
	"github.com/ledgersim/ledgersim/ledgersimtest"
)

func TestClockStartsWhereToldAndAdvances(t *testing.T) {
	start := time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC)
	ls := ledgersimtest.NewWithConfig(t, ledgersimtest.Config{Start: start})
	require.Equal(t, start, ls.Clock.Now())
	require.Equal(t, start.Add(time.Hour), ls.Clock.Advance(time.Hour))
	clk, err := ls.Client.GetClock(context.Background())
	require.NoError(t, err)
	require.True(t, clk.Virtual)
	require.Equal(t, start.Add(time.Hour).UnixMilli(), clk.Now)
}

func TestListenersAreOnLoopback(t *testing.T) {
	ls := ledgersimtest.NewWithConfig(t, ledgersimtest.Config{KYCAuto: true})
	host, _, err := net.SplitHostPort(ls.ISOAddr)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)
	conn, err := net.Dial("tcp", ls.ISOAddr)
	require.NoError(t, err, "the ISO 8583 listener accepts connections")
	require.NoError(t, conn.Close())

	// KYCAuto approves as soon as verification starts.
	ctx := context.Background()
	u, err := ls.Client.CreateUser(ctx, client.CreateUserParams{FirstName: "A", LastName: "B", Email: "a@example.com"})
	require.NoError(t, err)
	_, err = ls.Client.StartVerification(ctx, u.ID)
	require.NoError(t, err)
	u, err = ls.Client.GetUser(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, "approved", u.Status)
}
