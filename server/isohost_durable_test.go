package server

import (
	"context"
	"errors"
	"github.com/ledgersim/ledgersim/internal/gatedfs"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// isoOverGatedFS runs the ISO listener over a real ledger whose store and
// decision log are on fs, with one funded card; it returns a connection to
// the listener and a packer of 0100 purchases on that card.
func isoOverGatedFS(t *testing.T, fs *gatedfs.FS, mutate func(*ledger.Config)) (net.Conn, func(stan string) []byte) {
	db, err := store.Open(store.Options{Dir: "/data", FS: fs})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	v, err := vault.Open(vault.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	cfg := ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, KYCAuto: true}
	if mutate != nil {
		mutate(&cfg)
	}
	l, err := ledger.Open(cfg)
	require.NoError(t, err)
	ctx := context.Background()
	u, err := l.CreateUser(ctx, ledger.CreateUserInput{FirstName: "S", LastName: "Y", Email: "sync@example.com"})
	require.NoError(t, err)
	_, err = l.DecideKYC(ctx, u.ID, true)
	require.NoError(t, err)
	_, _, err = l.SimulateDeposit(ctx, ledger.DepositInput{UserID: u.ID, Asset: "USDC", Chain: "base", Amount: "100", AmountCents: 10_000})
	require.NoError(t, err)
	reg, err := l.RegisterAgent(ctx, ledger.AgentInput{UserID: u.ID, Name: "sync"})
	require.NoError(t, err)
	card, err := l.CreateCard(ctx, reg.Agent.ID, ledger.CardInput{Purpose: "sync", Type: "multi", CredentialExposure: "rawPan",
		AcknowledgeRawPanRisk: true, AttestationWindowMinutes: 10})
	require.NoError(t, err)
	it, err := l.CreateIntent(ctx, card.ID, ledger.IntentInput{IntentID: "read", Summary: "read the card"})
	require.NoError(t, err)
	creds, err := l.ReadDetails(ctx, card.ID, ledger.Attestation{Summary: "sync"})
	require.NoError(t, err)
	_, err = l.CancelIntent(ctx, it.Intent.ID)
	require.NoError(t, err)

	srv, err := iso.NewServer(iso.Config{Logger: slog.New(slog.DiscardHandler)}, &isoHost{l: l, log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })

	pack := func(stan string) []byte {
		now := time.Now()
		msg, err := iso.PackRequest(&iso.Request{
			MTI: "0100", PAN: creds.PAN, ProcessingCode: "000000", AmountCents: 1_250, HasAmount: true,
			TransmissionDateTime: now.Format("0102150405"), STAN: stan, LocalTime: now.Format("150405"),
			LocalDate: now.Format("0102"), Expiry: creds.ExpYear[len(creds.ExpYear)-2:] + creds.ExpMonth, MCC: "5812",
			POSEntryMode: "010", RRN: "000000" + stan, TerminalID: "TERM0001", MerchantID: "MERCHANT0000001",
			MerchantName: "SYNC SHOP", MerchantCity: "SAN FRANCISCO", MerchantCountry: "US", CurrencyCode: "840",
			CVV2: creds.CVV, HasCVV2: true,
		})
		require.NoError(t, err)
		return msg
	}
	return nc, pack
}

// TestISOApprovalWaitsForItsSync runs the ISO listener over the real
// ledger on a filesystem whose WAL sync is held: the approval is decided
// and reaches the sync, but no reply byte leaves until the sync completes,
// and then the approval arrives.
func TestISOApprovalWaitsForItsSync(t *testing.T) {
	fs := gatedfs.New()
	nc, pack := isoOverGatedFS(t, fs, nil)
	msg := pack("000001")

	open := fs.Hold()
	t.Cleanup(open) // a failing test still lets the store close
	require.NoError(t, iso.WriteFrame(nc, iso.Binary2, msg))
	select {
	case <-fs.Waiting: // the decision is applied and its sync has begun
	case <-time.After(20 * time.Second):
		t.Fatal("the approval never reached its sync")
	}
	// A short wait can only miss a reply that leaves too early, never
	// fail a correct server.
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	one := make([]byte, 1)
	_, err := nc.Read(one)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "a reply left before its decision was synced (err %v)", err)

	open()
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(20*time.Second)))
	frame, err := iso.NewFrameReader(nc, iso.Binary2, 0).Next()
	require.NoError(t, err)
	rep, err := iso.UnpackResponse(frame)
	require.NoError(t, err)
	require.Equal(t, "000001", rep.STAN)
	require.Equal(t, "00", rep.Code, "approved once synced")
}

// failedSyncAnswersNothingApproved: when the disk stops taking the
// decision log's syncs, the log stops (fail-stop): the fatal hook runs
// (by default it ends the process, so the client sees its connection
// close), and no request decided after the last good sync is answered as
// approved; with the hook kept from exiting, as here, the waiting reply
// becomes 96, system malfunction, and so does every later request.
func failedSyncAnswersNothingApproved(t *testing.T) {
	fs := gatedfs.New()
	fatal := make(chan error, 1)
	nc, pack := isoOverGatedFS(t, fs, func(c *ledger.Config) {
		c.OnFatal = func(err error) { fatal <- err }
	})
	fr := iso.NewFrameReader(nc, iso.Binary2, 0)
	exchange := func(stan string) *iso.Reply {
		require.NoError(t, iso.WriteFrame(nc, iso.Binary2, pack(stan)))
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(20*time.Second)))
		frame, err := fr.Next()
		require.NoError(t, err)
		rep, err := iso.UnpackResponse(frame)
		require.NoError(t, err)
		require.Equal(t, stan, rep.STAN)
		return rep
	}
	require.Equal(t, "00", exchange("000001").Code, "approved while the disk works")

	fs.Fail("/data/log/", errors.New("injected: the disk stopped taking writes"))
	require.Equal(t, "96", exchange("000002").Code, "a decision whose record could not be synced is never approved")
	select {
	case err := <-fatal:
		require.ErrorContains(t, err, "injected")
	case <-time.After(20 * time.Second):
		t.Fatal("the fatal hook was not called")
	}
	require.Equal(t, "96", exchange("000003").Code, "a failed log takes nothing more")
}
