package store_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
	"github.com/ledgersim/ledgersim/verify"
)

var crashSeeds = flag.Int("crash-seeds", 12, "seeds of TestCrashLosesNoSyncedWrite to run")

const crashKey = "abababababababababababababababababababababababababababababababab"

type world struct {
	db    *store.DB
	l     *ledger.Ledger
	v     *vault.Vault
	clk   *clock.Virtual
	pans  []string
	cards []string
}

func openWorld(t *testing.T, fs vfs.FS, at time.Time) *world {
	t.Helper()
	db, err := store.Open(store.Options{Dir: "/data", FS: fs})
	require.NoError(t, err)
	v, err := vault.Open(vault.Config{MasterKeyHex: crashKey})
	require.NoError(t, err)
	clk := clock.NewVirtual(at)
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clk, OverCapturePct: 20})
	require.NoError(t, err)
	return &world{db: db, l: l, v: v, clk: clk}
}

// ack is what a caller was told: the record it must find after a crash.
type ack struct {
	txnID, authCode, status string
}

// TestCrashLosesNoSyncedWrite runs the ledger on Pebble's crashable
// in-memory filesystem with decisions in flight on several goroutines,
// takes a crash image at a random moment (keeping a random share of what
// was written but not synced), reopens it, and checks that every decision
// acknowledged before the crash is there as acknowledged and that the
// store's invariants hold. Each seed prints itself on failure; -crash-seeds
// runs more.
func TestCrashLosesNoSyncedWrite(t *testing.T) {
	for seed := 1; seed <= *crashSeeds; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { crashRound(t, uint64(seed)) })
	}
}

func crashRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fs := vfs.NewCrashableMem()
	w := openWorld(t, fs, start)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		u, err := w.l.CreateUser(ctx, ledger.CreateUserInput{FirstName: "C", LastName: "R", Email: fmt.Sprintf("c%d@example.com", i)})
		require.NoError(t, err)
		_, err = w.l.DecideKYC(ctx, u.ID, true)
		require.NoError(t, err)
		_, _, err = w.l.SimulateDeposit(ctx, ledger.DepositInput{UserID: u.ID, Asset: "USDC", Chain: "base", Amount: "500", AmountCents: 50000})
		require.NoError(t, err)
		reg, err := w.l.RegisterAgent(ctx, ledger.AgentInput{UserID: u.ID, Name: "crash"})
		require.NoError(t, err)
		c, err := w.l.CreateCard(ctx, reg.Agent.ID, ledger.CardInput{Purpose: "crash", Type: model.CardMulti, CredentialExposure: model.ExposureRawPAN, AcknowledgeRawPanRisk: true, AttestationWindowMinutes: 10})
		require.NoError(t, err)
		_, err = w.l.CreateIntent(ctx, c.ID, ledger.IntentInput{IntentID: "read", Summary: "read"})
		require.NoError(t, err)
		creds, err := w.l.ReadDetails(ctx, c.ID, ledger.Attestation{Summary: "read"})
		require.NoError(t, err)
		w.cards, w.pans = append(w.cards, c.ID), append(w.pans, creds.PAN)
	}

	var (
		mu    sync.Mutex
		acked []ack
		wg    sync.WaitGroup
		stop  = make(chan struct{})
		seq   int
	)
	record := func(a ack) {
		mu.Lock()
		acked = append(acked, a)
		mu.Unlock()
	}
	for g := 0; g < 4; g++ {
		grng := rand.New(rand.NewPCG(seed, uint64(g)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []ack
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				seq++
				n := seq
				mu.Unlock()
				card := grng.IntN(len(w.pans))
				switch op := grng.IntN(10); {
				case op < 6 || len(mine) == 0:
					out, err := w.l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth,
						PAN: w.pans[card], Kind: authz.Purchase, AmountCents: int64(1 + grng.IntN(500)), Currency: "840",
						MerchantID: "M1", Merchant: "CRASH CAFE", MCC: "5812", STAN: fmt.Sprintf("%06d", n%1000000),
						RRN: fmt.Sprintf("%012d", n), TxnTime: "0301120000"})
					if err != nil {
						return // the store is closing under us
					}
					if out.TxnID != "" {
						st := model.TxnDeclined
						if out.Code == authz.CodeApproved {
							st = model.TxnAuthorized
						}
						a := ack{out.TxnID, out.AuthCode, st}
						record(a)
						if st == model.TxnAuthorized {
							mine = append(mine, a)
						}
					}
				case op < 8:
					a := mine[len(mine)-1]
					mine = mine[:len(mine)-1]
					out, err := w.l.Clear(ctx, &ledger.FollowUp{Source: "api", TxnID: a.txnID, AmountCents: 1, Currency: "840"})
					if err != nil {
						return
					}
					if out.Code == authz.CodeApproved {
						record(ack{a.txnID, a.authCode, model.TxnCompleted})
					}
				default:
					a := mine[len(mine)-1]
					mine = mine[:len(mine)-1]
					out, err := w.l.Reverse(ctx, &ledger.FollowUp{Source: "api", TxnID: a.txnID})
					if err != nil {
						return
					}
					if out.Code == authz.CodeApproved {
						record(ack{a.txnID, a.authCode, model.TxnReversed})
					}
				}
			}
		}()
	}
	// Let decisions run, then take the crash image while they still do.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 20+rng.IntN(200) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	before := append([]ack(nil), acked...) // acknowledged before the image
	mu.Unlock()
	image := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rand.New(rand.NewPCG(seed, 1))})
	close(stop)
	wg.Wait()
	require.NoError(t, w.db.Close())

	r := openWorld(t, image, start)
	defer r.db.Close()
	// The last acknowledgement of each transaction is what it must show.
	want := map[string]ack{}
	for _, a := range before {
		want[a.txnID] = a
	}
	for id, a := range want {
		got, err := r.l.GetTxn(id)
		require.NoError(t, err, "seed %d: acknowledged %s is lost", seed, id)
		require.Equal(t, a.authCode, got.AuthorizationCode, "seed %d: %s", seed, id)
		// A later change may have become durable after the image's
		// acknowledgements were taken; an acknowledged state never goes
		// back.
		switch a.status {
		case model.TxnAuthorized:
			require.Contains(t, []string{model.TxnAuthorized, model.TxnCompleted, model.TxnReversed}, got.Status, "seed %d: %s", seed, id)
		default:
			require.Equal(t, a.status, got.Status, "seed %d: %s", seed, id)
		}
	}
	rep, err := verify.Run(r.db, r.v, start)
	require.NoError(t, err)
	var breaches []string
	for _, c := range rep.Checks {
		if c.Breaches > 0 {
			breaches = append(breaches, fmt.Sprintf("%s: %v", c.Name, c.Examples))
		}
	}
	require.Empty(t, breaches, "seed %d: invariants after the crash:\n%s", seed, strings.Join(breaches, "\n"))
	t.Logf("seed %d: %d acknowledged before the crash image, all present; invariants hold", seed, len(want))
}
