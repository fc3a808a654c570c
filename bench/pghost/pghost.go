//go:build compare_pg

// Package pghost is the comparison's PostgreSQL peer: the core rules of
// bench/moovhost, applied as one SQL transaction per message on
// PostgreSQL, behind moovhost's ISO 8583 listener. It is the design most
// issuer processors start from.
//
// An authorization is one READ COMMITTED transaction: SELECT ... FOR
// UPDATE of the card and its account (one join, which locks both rows),
// the decision in Go (moovhost.DecidePurchase, the same function the
// in-memory peer calls), an UPDATE of the account's holds (or balance,
// for a refund), an INSERT of the authorization (declines too, so that a
// repeat gets the same answer) and COMMIT. The server runs with
// synchronous_commit on, so a reply leaves only after its commit record
// is flushed to the WAL, as ledgersim's replies leave only after their
// Pebble WAL sync: both are durable. Concurrent commits share WAL flushes
// (PostgreSQL's own group commit), which is why the pool holds many
// connections. Clearings and reversals lock the authorization row, then
// update the account and the authorization.
//
// The package is built only with the build tag compare_pg, because it
// needs the PostgreSQL driver github.com/jackc/pgx/v5, which the module
// requires only for this comparison.
package pghost

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ledgersim/ledgersim/bench/moovhost"
	"github.com/ledgersim/ledgersim/bench/seed"
)

// Schema creates the peer's tables, dropping any earlier ones.
//
//go:embed schema.sql
var Schema string

// DefaultPoolSize is the number of PostgreSQL connections: enough for
// concurrent commits to share WAL flushes on a small machine.
const DefaultPoolSize = 32

// Options configure a Ledger.
type Options struct {
	// PoolSize is the connection pool's size. Default DefaultPoolSize.
	PoolSize int32
	// PANKey keys the HMACs that stand for PANs and CVV2s in the tables.
	// It must be the same key the cards were loaded with. Required.
	PANKey []byte
	// Now is the clock of expiry checks. Default time.Now.
	Now func() time.Time
}

// Ledger implements moovhost.Ledger on PostgreSQL.
type Ledger struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	key     []byte
	macs    sync.Pool // *macState
	authSeq atomic.Uint32
	errs    atomic.Int64
}

// Open connects to the database at dsn (a PostgreSQL URL or key=value
// string).
func Open(ctx context.Context, dsn string, o Options) (*Ledger, error) {
	if len(o.PANKey) < 16 {
		return nil, errors.New("pghost: the PAN key must be at least 16 bytes")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pghost: %w", err)
	}
	cfg.MaxConns = DefaultPoolSize
	if o.PoolSize > 0 {
		cfg.MaxConns = o.PoolSize
	}
	cfg.MinConns = cfg.MaxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pghost: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pghost: %w", err)
	}
	l := &Ledger{pool: pool, now: o.Now, key: append([]byte(nil), o.PANKey...)}
	if l.now == nil {
		l.now = time.Now
	}
	l.macs.New = func() any { return &macState{h: hmac.New(sha256.New, l.key)} }
	l.authSeq.Store(uint32(time.Now().UnixNano() % 1_000_000))
	return l, nil
}

// Close closes the pool.
func (l *Ledger) Close() { l.pool.Close() }

// Errors counts database errors answered with 96.
func (l *Ledger) Errors() int64 { return l.errs.Load() }

// InitSchema drops and creates the tables.
func (l *Ledger) InitSchema(ctx context.Context) error {
	if _, err := l.pool.Exec(ctx, Schema); err != nil {
		return fmt.Errorf("pghost: schema: %w", err)
	}
	return nil
}

// CheckDurable fails unless the server syncs commits: fsync and
// synchronous_commit on, so the comparison is between durable designs.
func (l *Ledger) CheckDurable(ctx context.Context) error {
	for _, name := range []string{"fsync", "synchronous_commit"} {
		var v string
		if err := l.pool.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			return fmt.Errorf("pghost: %s: %w", name, err)
		}
		if v != "on" {
			return fmt.Errorf("pghost: %s is %q; the comparison needs it on", name, v)
		}
	}
	return nil
}

// Load empties the tables and loads the seed's accounts and cards.
func (l *Ledger) Load(ctx context.Context, s *seed.Seed) error {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pghost: load: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "TRUNCATE authorizations, cards, accounts"); err != nil {
		return fmt.Errorf("pghost: load: %w", err)
	}
	accts := make([][]any, len(s.Accounts))
	for i, a := range s.Accounts {
		accts[i] = []any{a.ID, a.BalanceCents}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"accounts"}, []string{"id", "balance_cents"}, pgx.CopyFromRows(accts)); err != nil {
		return fmt.Errorf("pghost: load accounts: %w", err)
	}
	cards := make([][]any, len(s.Cards))
	for i, c := range s.Cards {
		cards[i] = []any{l.panMAC(c.PAN), c.AccountID, l.cvvMAC(c.PAN, c.CVV), c.Expiry, c.Status, c.MaxAmountCents}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"cards"},
		[]string{"pan_mac", "account_id", "cvv_mac", "expiry", "status", "max_amount_cents"}, pgx.CopyFromRows(cards)); err != nil {
		return fmt.Errorf("pghost: load cards: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pghost: load: %w", err)
	}
	if _, err := l.pool.Exec(ctx, "ANALYZE accounts; ANALYZE cards"); err != nil {
		return fmt.Errorf("pghost: analyze: %w", err)
	}
	return nil
}

// macState is a reusable HMAC, so that keying one per message is not
// the cost being measured.
type macState struct{ h hash.Hash }

func (l *Ledger) mac(parts ...string) []byte {
	m := l.macs.Get().(*macState)
	m.h.Reset()
	for i, p := range parts {
		if i > 0 {
			_, _ = m.h.Write([]byte{0})
		}
		_, _ = m.h.Write([]byte(p))
	}
	out := m.h.Sum(nil)
	l.macs.Put(m)
	return out
}

func (l *Ledger) panMAC(pan string) []byte      { return l.mac("pan", pan) }
func (l *Ledger) cvvMAC(pan, cvv string) []byte { return l.mac("cvv", pan, cvv) }

func (l *Ledger) newAuthCode() string {
	return fmt.Sprintf("%06d", l.authSeq.Add(1)%1_000_000)
}

// fail counts a database error and answers 96.
func (l *Ledger) fail(error) moovhost.Answer {
	l.errs.Add(1)
	return moovhost.Answer{Code: moovhost.CodeSystemError}
}

// prior returns the answer already given to an authorization with this
// RRN: the same answer for the same STAN (a repeat), 94 for another.
func (l *Ledger) prior(ctx context.Context, r *moovhost.Request) (moovhost.Answer, bool, error) {
	var stan, code string
	var authCode *string
	err := l.pool.QueryRow(ctx, "SELECT stan, response_code, auth_code FROM authorizations WHERE rrn = $1", r.RRN).
		Scan(&stan, &code, &authCode)
	if errors.Is(err, pgx.ErrNoRows) {
		return moovhost.Answer{}, false, nil
	}
	if err != nil {
		return moovhost.Answer{}, false, err
	}
	if stan != r.STAN {
		return moovhost.Answer{Code: moovhost.CodeDuplicate}, true, nil
	}
	a := moovhost.Answer{Code: code}
	if authCode != nil {
		a.AuthCode = *authCode
	}
	return a, true, nil
}

// Authorize implements moovhost.Ledger: one transaction per purchase or
// refund.
func (l *Ledger) Authorize(ctx context.Context, r *moovhost.Request) moovhost.Answer {
	if r.MTI == "0101" {
		a, found, err := l.prior(ctx, r)
		if err != nil {
			return l.fail(err)
		}
		if found {
			return a
		}
	}
	a, err := l.authorize(ctx, r)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation: the RRN is known
		a, found, perr := l.prior(ctx, r)
		if perr == nil && found {
			return a
		}
	}
	if err != nil {
		return l.fail(err)
	}
	return a
}

func (l *Ledger) authorize(ctx context.Context, r *moovhost.Request) (moovhost.Answer, error) {
	now := l.now()
	panMAC := l.panMAC(r.PAN)
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return moovhost.Answer{}, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var (
		acct          *string
		cvvMAC        []byte
		rules         moovhost.CardRules
		balance, held int64
	)
	err = tx.QueryRow(ctx, `SELECT c.account_id, c.cvv_mac, c.status, c.expiry, c.max_amount_cents, a.balance_cents, a.held_cents
		FROM cards c JOIN accounts a ON a.id = c.account_id
		WHERE c.pan_mac = $1
		FOR UPDATE`, panMAC).Scan(&acct, &cvvMAC, &rules.Status, &rules.Expiry, &rules.MaxAmountCents, &balance, &held)
	known := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return moovhost.Answer{}, err
	}
	kind, state := "purchase", "declined"
	if r.Refund() {
		kind = "refund"
	}
	var a moovhost.Answer
	var hold int64
	switch {
	case !known:
		a.Code = moovhost.CodeInvalidCard
		acct = nil
	case r.Refund():
		if a.Code = moovhost.DecideRefund(r); a.Code == moovhost.CodeApproved {
			if _, err := tx.Exec(ctx, "UPDATE accounts SET balance_cents = balance_cents + $1 WHERE id = $2", r.AmountCents, *acct); err != nil {
				return moovhost.Answer{}, err
			}
			state = "refunded"
		}
	default:
		mismatch := r.HasCVV && !hmac.Equal(cvvMAC, l.cvvMAC(r.PAN, r.CVV))
		if a.Code = moovhost.DecidePurchase(rules, mismatch, balance-held, r, now); a.Code == moovhost.CodeApproved {
			if _, err := tx.Exec(ctx, "UPDATE accounts SET held_cents = held_cents + $1 WHERE id = $2", r.AmountCents, *acct); err != nil {
				return moovhost.Answer{}, err
			}
			hold, state = r.AmountCents, "held"
		}
	}
	var authCode *string
	if a.Code == moovhost.CodeApproved {
		a.AuthCode = l.newAuthCode()
		authCode = &a.AuthCode
	}
	if _, err := tx.Exec(ctx, `INSERT INTO authorizations
		(rrn, stan, pan_mac, account_id, kind, amount_cents, hold_cents, response_code, auth_code, state)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.RRN, r.STAN, panMAC, acct, kind, r.AmountCents, hold, a.Code, authCode, state); err != nil {
		return moovhost.Answer{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return moovhost.Answer{}, err
	}
	return a, nil
}

// original locks the approval a clearing or reversal refers to. It returns
// ok false when there is none: no such RRN, not an approval, or another
// approval code or card.
func (l *Ledger) original(ctx context.Context, tx pgx.Tx, r *moovhost.Request) (o origRow, ok bool, err error) {
	var authCode *string
	var panMAC []byte
	err = tx.QueryRow(ctx, `SELECT account_id, amount_cents, hold_cents, response_code, auth_code, state, pan_mac
		FROM authorizations WHERE rrn = $1 FOR UPDATE`, r.RRN).
		Scan(&o.acct, &o.amount, &o.hold, &o.code, &authCode, &o.state, &panMAC)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, false, nil
	}
	if err != nil {
		return o, false, err
	}
	if o.acct == nil || o.code != moovhost.CodeApproved || authCode == nil || *authCode != r.AuthCode ||
		!hmac.Equal(panMAC, l.panMAC(r.PAN)) {
		return o, false, nil
	}
	return o, true, nil
}

type origRow struct {
	acct         *string
	amount, hold int64
	code, state  string
}

// Capture implements moovhost.Ledger: the clearing of an approval.
func (l *Ledger) Capture(ctx context.Context, r *moovhost.Request) moovhost.Answer {
	a, err := l.capture(ctx, r)
	if err != nil {
		return l.fail(err)
	}
	return a
}

func (l *Ledger) capture(ctx context.Context, r *moovhost.Request) (moovhost.Answer, error) {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return moovhost.Answer{}, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	o, ok, err := l.original(ctx, tx, r)
	if err != nil {
		return moovhost.Answer{}, err
	}
	if !ok || o.state != "held" {
		return moovhost.Answer{Code: moovhost.CodeNoOriginal}, nil
	}
	if r.AmountCents <= 0 || r.AmountCents > moovhost.CaptureLimit(o.amount) {
		return moovhost.Answer{Code: moovhost.CodeInvalidAmount}, nil
	}
	if _, err := tx.Exec(ctx, "UPDATE accounts SET held_cents = held_cents - $1, balance_cents = balance_cents - $2 WHERE id = $3",
		o.hold, r.AmountCents, *o.acct); err != nil {
		return moovhost.Answer{}, err
	}
	if _, err := tx.Exec(ctx, "UPDATE authorizations SET hold_cents = 0, captured_cents = $1, state = 'cleared' WHERE rrn = $2",
		r.AmountCents, r.RRN); err != nil {
		return moovhost.Answer{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return moovhost.Answer{}, err
	}
	return moovhost.Answer{Code: moovhost.CodeApproved}, nil
}

// Reverse implements moovhost.Ledger: a full reversal, or a partial one
// to DE 95's amount.
func (l *Ledger) Reverse(ctx context.Context, r *moovhost.Request) moovhost.Answer {
	a, err := l.reverse(ctx, r)
	if err != nil {
		return l.fail(err)
	}
	return a
}

func (l *Ledger) reverse(ctx context.Context, r *moovhost.Request) (moovhost.Answer, error) {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return moovhost.Answer{}, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	o, ok, err := l.original(ctx, tx, r)
	switch {
	case err != nil:
		return moovhost.Answer{}, err
	case !ok:
		return moovhost.Answer{Code: moovhost.CodeNoOriginal}, nil
	case o.state == "reversed":
		return moovhost.Answer{Code: moovhost.CodeApproved}, nil // already reversed: a repeat
	case o.state != "held":
		return moovhost.Answer{Code: moovhost.CodeNoOriginal}, nil
	}
	remain := int64(0)
	if r.HasReplacement {
		remain = r.ReplacementCents
	}
	if remain < 0 || remain > o.hold {
		return moovhost.Answer{Code: moovhost.CodeInvalidAmount}, nil
	}
	state := "held"
	if remain == 0 {
		state = "reversed"
	}
	if _, err := tx.Exec(ctx, "UPDATE accounts SET held_cents = held_cents - $1 WHERE id = $2", o.hold-remain, *o.acct); err != nil {
		return moovhost.Answer{}, err
	}
	if _, err := tx.Exec(ctx, "UPDATE authorizations SET hold_cents = $1, state = $2 WHERE rrn = $3", remain, state, r.RRN); err != nil {
		return moovhost.Answer{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return moovhost.Answer{}, err
	}
	return moovhost.Answer{Code: moovhost.CodeApproved}, nil
}

// Balance returns the balance and holds of the account of the card with
// pan.
func (l *Ledger) Balance(ctx context.Context, pan string) (balanceCents, heldCents int64, err error) {
	err = l.pool.QueryRow(ctx, `SELECT a.balance_cents, a.held_cents FROM cards c JOIN accounts a ON a.id = c.account_id
		WHERE c.pan_mac = $1`, l.panMAC(pan)).Scan(&balanceCents, &heldCents)
	return balanceCents, heldCents, err
}

// Authorizations counts the rows of the authorizations table.
func (l *Ledger) Authorizations(ctx context.Context) (int64, error) {
	var n int64
	err := l.pool.QueryRow(ctx, "SELECT count(*) FROM authorizations").Scan(&n)
	return n, err
}
