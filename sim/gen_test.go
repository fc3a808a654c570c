package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/vault"
)

// This file is the generator: a seeded stream of operations drawn with
// weights, from the model's state only (never from anything the core made
// up, such as IDs, PANs or approval codes, except as data to send back), so
// that a seed always produces the same stream.

type msgType int

const (
	mAuth    msgType = iota // 0100, 0101, 0120, 0200
	mClear                  // 0220
	mReverse                // 0400, 0401, 0420, 0421
)

// msg is a network message as the ISO host hands it to the ledger.
type msg struct {
	typ        msgType
	mti        string
	proc       string // DE 3's first two digits: 00, 20, 31
	pan        string // DE 2; "" when absent
	amount     int64  // DE 4
	currency   string // DE 49
	expiry     string // DE 14
	cvv        string
	hasCVV     bool
	merchantID string // DE 42
	merchant   string // DE 43 name
	mcc        string // DE 18
	terminal   string // DE 41
	stan       string // DE 11
	rrn        string // DE 37
	de7        string
	de90       string
	authCode   string // DE 38 on a clearing or reversal
	repl       int64  // DE 95's actual amount
	hasRepl    bool
	// partialOK: DE 48 sub-element 61, the terminal takes a partial
	// approval.
	partialOK bool
	// viaTxn: the simulate endpoint's path, naming the original by ID.
	viaTxn *mTxn
	// label says, for the log, which card and original the message is about.
	label string
}

func (x *msg) class() byte {
	switch x.typ {
	case mClear:
		return ledger.ClassClearing
	case mReverse:
		return ledger.ClassReversal
	}
	switch x.mti {
	case "0120":
		return ledger.ClassAdvice
	case "0200":
		return ledger.ClassFinancial
	}
	return ledger.ClassAuth
}

func (x *msg) String() string {
	var b strings.Builder
	b.WriteString(x.mti)
	if x.typ == mAuth {
		b.WriteString(" pc=" + x.proc)
	}
	if x.viaTxn != nil {
		b.WriteString(" api txn=" + x.viaTxn.name)
	}
	fmt.Fprintf(&b, " %s amt=%d", x.label, x.amount)
	if x.currency != "840" {
		b.WriteString(" cur=" + x.currency)
	}
	if x.typ == mAuth {
		fmt.Fprintf(&b, " exp=%s", x.expiry)
		if x.hasCVV {
			b.WriteString(" cvv=" + x.cvv)
		}
		fmt.Fprintf(&b, " at=%s|%q", x.merchantID, x.merchant)
		if x.mcc != "" {
			fmt.Fprintf(&b, " mcc=%s", x.mcc)
		}
	}
	if x.terminal != "TERM0001" {
		b.WriteString(" term=" + x.terminal)
	}
	if x.pan == "" && x.viaTxn == nil {
		b.WriteString(" noDE2")
	}
	fmt.Fprintf(&b, " stan=%s rrn=%s de7=%s", x.stan, x.rrn, x.de7)
	if x.de90 != "" {
		b.WriteString(" de90=" + strings.TrimRight(x.de90, "0"))
	}
	if x.partialOK {
		b.WriteString(" partialOK")
	}
	if x.authCode != "" {
		b.WriteString(" de38=" + x.authCode)
	}
	if x.hasRepl {
		fmt.Fprintf(&b, " de95=%d", x.repl)
	}
	return b.String()
}

type opKind int

const (
	opMsg opKind = iota
	opAdvance
	opDeposit
	opRefund
	opIntent
	opCancel
	opDetails
	opReactivate
	opFreeze
	opUnfreeze
	opIssue
	opDeregister
	opRestart
	opWithdraw
	opDispute
	opResolveDispute
	opKYC
	opActivate
)

// op is one step.
type op struct {
	kind   opKind
	note   string
	x      *msg
	d      time.Duration
	user   *mUser
	agent  *mAgent
	card   *mCard
	txn    *mTxn
	intent *mIntent
	amount int64
	// idemKey, on a deposit, an API refund or a clearing or reversal by ID
	// (the simulate endpoints' path), is the Idempotency-Key it is sent
	// with: a new one, or (a retry) one an earlier request was sent with.
	// A retry with the same body must be answered with the first reply and
	// change nothing while the key is remembered; one with another body or
	// on another route is a conflict.
	idemKey string
	// dispute and outcome, on a dispute's resolution.
	dispute *mDispute
	outcome string
}

func (o *op) String() string {
	s := ""
	switch o.kind {
	case opMsg:
		s = o.x.String()
	case opAdvance:
		s = "advance " + o.d.String()
	case opDeposit:
		s = fmt.Sprintf("deposit %s %d", o.user.name, o.amount)
	case opWithdraw:
		s = fmt.Sprintf("withdraw %s %d", o.user.name, o.amount)
	case opDispute:
		s = "dispute " + o.txn.name
	case opResolveDispute:
		s = fmt.Sprintf("resolve dispute of %s: %s", o.dispute.txn.name, o.outcome)
	case opKYC:
		s = fmt.Sprintf("kyc %s -> %s", o.user.name, o.outcome)
	case opActivate:
		s = "activate " + o.card.name
	case opRefund:
		s = fmt.Sprintf("api refund %s %d", o.txn.name, o.amount)
	case opIntent:
		it := o.intent
		s = fmt.Sprintf("create intent %s intentId=%s amount=%s tol=%d merchant=%q ttl=%d", it.card.name, it.clientID, ptrStr(it.expAmount), it.tolerance, it.merchant, it.ttl)
	case opCancel:
		s = "cancel intent " + o.intent.name
	case opDetails:
		s = "read details " + o.card.name
	case opReactivate:
		s = "reactivate agent " + o.agent.name
	case opFreeze:
		s = "freeze " + o.card.name
	case opUnfreeze:
		s = "unfreeze " + o.card.name
	case opIssue:
		s = "issue card to " + o.agent.name + " " + cardSpecString(o.card)
	case opDeregister:
		s = "deregister agent " + o.agent.name
	case opRestart:
		s = "restart (close and reopen the store and the ledger)"
	}
	if o.idemKey != "" {
		s += " Idempotency-Key=" + o.idemKey
	}
	if o.note != "" {
		s += " [" + o.note + "]"
	}
	return s
}

func ptrStr(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func cardSpecString(c *mCard) string {
	typ := "multi"
	if c.single {
		typ = "single"
	}
	s := fmt.Sprintf("%s %s", typ, c.exposure)
	for _, f := range []struct {
		name string
		v    *int64
	}{{"maxAmount", c.maxAmount}, {"perAuth", c.perAuth}, {"perDay", c.perDay}, {"perMonth", c.perMonth}, {"maxAuthCount", c.maxAuthCount}, {"ttlDays", c.ttlDays}} {
		if f.v != nil {
			s += fmt.Sprintf(" %s=%d", f.name, *f.v)
		}
	}
	if c.hint != "" {
		s += fmt.Sprintf(" hint=%q onDrift=%q", c.hint, c.onDrift)
	}
	if c.notActivated {
		s += " notActivated"
	}
	return s + fmt.Sprintf(" attest=%dm home=%d", c.attestMin, c.home)
}

// merchants the generator buys at: DE 42 and DE 43's name. Some share a
// name under another DE 42, or a DE 42 under another name, so that the
// merchant lock's pair is exercised.
var merchants = []struct{ id, name, mcc string }{
	{"MERCHANT000001", "ACME GROCERY", "5411"},
	{"MERCHANT000002", "BLUE BOTTLE COFFEE", "5814"},
	{"MERCHANT000003", "DOORDASH*BURGERPLACE", "5812"},
	{"MERCHANT000004", "SQ *CORNER CAFE", "5814"},
	{"MERCHANT000005", "Acme-Grocery", "5411"},
	{"MERCHANT000001", "ACME GROCERY #12", "5411"},
	{"MERCHANT000006", "SHELL OIL 5531", "5541"},
}

// oddMCCs are categories a merchant sometimes presents instead of its
// own: gambling, money transfer, miscellaneous retail, restaurants.
var oddMCCs = []string{"7995", "4829", "5999", "5812"}

// setMerchant puts merchant i in x, with its category or, now and then,
// another.
func (g *gen) setMerchant(x *msg, i int) {
	x.merchantID, x.merchant, x.mcc = merchants[i].id, merchants[i].name, merchants[i].mcc
	if g.pct(8) {
		x.mcc = pick(g, oddMCCs)
	}
}

// hints are merchantHints with the merchant they were written for.
var hints = []struct {
	hint string
	home int
}{{"Acme Grocery", 0}, {"Blue Bottle Coffee", 1}, {"Shell Oil 5531", 6}}

var intentMerchants = []string{"", "Acme Grocery", "Blue Bottle Coffee", "DoorDash", "Corner Cafe", "Shell", "Blue Bottle"}

type held struct {
	x   *msg
	due int
	why string
}

type gen struct {
	rng         *rand.Rand
	m           *refModel
	stan, rrn   int
	sent        []*msg // delivered messages, newest last, for duplicates
	inflight    []held // messages held back by the network
	clientSeq   int
	restarts    int
	maxRestarts int
	exercise    func(bug string) bool
	table       []weighted
	total       int
	// keyed are the deposits sent with an Idempotency-Key, to retry;
	// keyedCalls the API refunds, clearings and reversals sent with one.
	keyed, keyedCalls []*op
}

type weighted struct {
	w int
	f func(g *gen, step int) *op
}

func newGen(rng *rand.Rand, m *refModel, maxRestarts int, exercise func(string) bool) *gen {
	g := &gen{rng: rng, m: m, maxRestarts: maxRestarts, exercise: exercise}
	g.table = []weighted{
		{22, (*gen).purchase},
		{4, (*gen).financial},
		{3, (*gen).advice},
		{4, (*gen).increment},
		{3, (*gen).amountAdvice},
		{2, (*gen).verification},
		{1, (*gen).inquiry},
		{4, (*gen).isoRefund},
		{12, (*gen).clearing},
		{10, (*gen).reversal},
		{3, (*gen).early},
		{8, (*gen).resend},
		{3, (*gen).changed},
		{1, (*gen).unknownPAN},
		{1, (*gen).unknownOriginal},
		{3, (*gen).apiRefund},
		{5, (*gen).createIntent},
		{1, (*gen).cancelIntent},
		{4, (*gen).details},
		{9, (*gen).advance},
		{2, (*gen).deposit},
		{1, (*gen).withdraw},
		{1, (*gen).kyc},
		{1, (*gen).activate},
		{1, (*gen).dispute},
		{1, (*gen).resolveDispute},
		{3, (*gen).retry},
		{1, (*gen).reactivate},
		{1, (*gen).freeze},
		{1, (*gen).unfreeze},
		{1, (*gen).issue},
		{1, (*gen).deregister},
		{1, (*gen).restart},
	}
	for _, w := range g.table {
		g.total += w.w
	}
	return g
}

func (g *gen) pct(p int) bool { return g.rng.IntN(100) < p }

func pick[T any](g *gen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// next draws the operation of a step: a message the network held back
// whose time has come, or a weighted draw.
func (g *gen) next(step int) *op {
	for i, h := range g.inflight {
		if h.due <= step {
			g.inflight = append(g.inflight[:i], g.inflight[i+1:]...)
			return &op{kind: opMsg, x: h.x, note: h.why}
		}
	}
	for {
		n := g.rng.IntN(g.total)
		for _, w := range g.table {
			if n < w.w {
				if o := w.f(g, step); o != nil && !g.avoided(o) {
					return o
				}
				break
			}
			n -= w.w
		}
	}
}

// avoided reports whether o would expose a known bug that is not being
// exercised.
func (g *gen) avoided(o *op) bool {
	if o.kind != opMsg || o.x.typ != mReverse || g.exercise(bugSpendAfterTip) {
		return false
	}
	t := g.m.original(o.x)
	return t != nil && t.status == model.TxnCompleted && t.amount > t.authorized
}

func (g *gen) nextSTAN() string {
	g.stan++
	return fmt.Sprintf("%06d", g.stan%1000000)
}

func (g *gen) nextRRN() string {
	g.rrn++
	return fmt.Sprintf("6%011d", g.rrn)
}

func (g *gen) de7() string { return g.m.now().Format("0102150405") }

func de90(mti, stan, de7 string) string { return mti + stan + de7 + strings.Repeat("0", 22) }

func (g *gen) amount() int64 {
	switch r := g.rng.IntN(100); {
	case r < 5:
		return 1 + g.rng.Int64N(99)
	case r < 65:
		return 100 + g.rng.Int64N(4900)
	case r < 90:
		return 5000 + g.rng.Int64N(15000)
	default:
		return 20000 + g.rng.Int64N(60000)
	}
}

func (g *gen) card() *mCard { return pick(g, g.m.cards) }

// authMsg is a fresh 0100-family message for c, mostly well-formed, now and
// then with a wrong DE 14, a wrong CVV2 or another currency.
func (g *gen) authMsg(c *mCard, mti, proc string, amount int64) *msg {
	x := &msg{typ: mAuth, mti: mti, proc: proc, pan: c.pan, amount: amount, currency: "840", expiry: c.expiryYYMM(),
		terminal: "TERM0001", stan: g.nextSTAN(), rrn: g.nextRRN(), de7: g.de7(), label: c.name}
	i := c.home
	if g.pct(30) {
		i = g.rng.IntN(len(merchants))
	}
	g.setMerchant(x, i)
	switch r := g.rng.IntN(100); {
	case r < 30:
		x.hasCVV, x.cvv = true, c.cvv
	case r < 33:
		x.hasCVV, x.cvv = true, fmt.Sprintf("%03d", (atoi(c.cvv)+1+g.rng.IntN(998))%1000)
	}
	if g.pct(3) {
		x.expiry = fmt.Sprintf("%02d%s", (atoi(c.expYear[2:])+1)%100, c.expMonth)
	}
	if g.pct(2) {
		x.currency = "978"
	}
	if g.pct(10) {
		x.terminal = "TERM0002"
	}
	return x
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func (g *gen) send(x *msg, note string) *op { return &op{kind: opMsg, x: x, note: note} }

// maybeHold sometimes holds a message back for a few steps: the network
// delivers it after messages sent later.
func (g *gen) maybeHold(step int, x *msg) *op {
	if g.pct(5) {
		g.inflight = append(g.inflight, held{x: x, due: step + 1 + g.rng.IntN(4), why: "delivered late"})
		o := g.advanceBy(time.Duration(1+g.rng.IntN(50)) * time.Second)
		o.note = "meanwhile the network holds back: " + x.String()
		return o
	}
	return g.send(x, "")
}

func (g *gen) purchase(step int) *op {
	c := g.card()
	x := g.authMsg(c, pick(g, []string{"0100", "0100", "0100", "0101"}), "00", g.amount())
	x.partialOK = g.pct(25)
	g.followIntent(c, x)
	return g.maybeHold(step, x)
}

// amendTarget is an authorization an increment or an advice names by DE
// 90: mostly an open one, sometimes one that is not open any more, and
// now and then one of another card (all three: 25).
func (g *gen) amendTarget(mti string, amount int64) *msg {
	o := g.pickTarget(85, 10)
	if o == nil {
		return nil
	}
	c := o.card
	if g.pct(5) {
		c = g.card()
	}
	x := g.authMsg(c, mti, "00", amount)
	x.de90 = de90(o.mti, o.stan, o.de7)
	x.label += " amends " + o.name
	return x
}

// increment is an 0100 with DE 90: an incremental authorization.
func (g *gen) increment(step int) *op {
	x := g.amendTarget(pick(g, []string{"0100", "0100", "0101"}), 1+g.rng.Int64N(3_000))
	if x == nil {
		return nil
	}
	return g.maybeHold(step, x)
}

// amountAdvice is an 0120 with DE 90: the authorization's amount becomes
// DE 4, up or down.
func (g *gen) amountAdvice(step int) *op {
	x := g.amendTarget("0120", 1+g.rng.Int64N(8_000))
	if x == nil {
		return nil
	}
	return g.send(x, "")
}

// intentMerchant is where the generator buys to honour an intent's
// expected merchant.
var intentMerchant = map[string]int{"Acme Grocery": 0, "Blue Bottle Coffee": 1, "DoorDash": 2, "Corner Cafe": 3, "Shell": 6, "Blue Bottle": 1}

// followIntent often makes a purchase on a card with a pending intent the
// one the intent declared, within its tolerance and at its merchant.
func (g *gen) followIntent(c *mCard, x *msg) {
	var it *mIntent
	for _, i := range g.m.intents {
		if i.card == c && i.status == model.IntentPending {
			it = i
		}
	}
	if it == nil || !g.pct(60) {
		return
	}
	if it.expAmount != nil && !g.pct(15) {
		x.amount = max(1, *it.expAmount-it.tolerance+g.rng.Int64N(2*it.tolerance+1))
	}
	if i, ok := intentMerchant[it.merchant]; ok && !g.pct(15) {
		g.setMerchant(x, i)
	}
}

func (g *gen) financial(step int) *op {
	c := g.card()
	x := g.authMsg(c, "0200", "00", g.amount())
	x.partialOK = g.pct(15)
	g.followIntent(c, x)
	return g.maybeHold(step, x)
}

func (g *gen) advice(step int) *op {
	c := g.card()
	x := g.authMsg(c, "0120", "00", g.amount())
	if g.pct(15) {
		// A refund advice, sometimes naming a purchase.
		x.proc = "20"
		if o := g.original(func(t *mTxn) bool { return t.card == c }); o != nil && g.pct(70) {
			x.de90 = de90(o.mti, o.stan, o.de7)
			x.amount = 1 + g.rng.Int64N(max(o.amount-o.refunded, 1)+200)
			x.label += " refunds " + o.name
		}
	}
	return g.send(x, "")
}

func (g *gen) verification(step int) *op {
	return g.send(g.authMsg(g.card(), pick(g, []string{"0100", "0100", "0200", "0120"}), "00", 0), "")
}

func (g *gen) inquiry(step int) *op {
	return g.send(g.authMsg(g.card(), "0100", "31", 0), "")
}

func (g *gen) isoRefund(step int) *op {
	c := g.card()
	x := g.authMsg(c, pick(g, []string{"0100", "0100", "0200"}), "20", g.amount())
	mine := func(t *mTxn) bool { return t.card == c }
	if g.pct(10) {
		mine = func(t *mTxn) bool { return t.card != c } // names another card's purchase: a plain credit
	}
	if o := g.original(mine); o != nil && g.pct(65) {
		x.de90 = de90(o.mti, o.stan, o.de7)
		left := o.amount - o.refunded
		x.amount = 1 + g.rng.Int64N(max(left, 1)+max(left/4, 1))
		x.label += " refunds " + o.name
	}
	if g.pct(4) {
		x.amount = 0
	}
	return g.send(x, "")
}

// original picks an approved purchase the core has answered, among those
// pred accepts.
func (g *gen) original(pred func(*mTxn) bool) *mTxn {
	var xs []*mTxn
	for _, t := range g.m.txns {
		if t.isOriginal && t.id != "" && pred(t) {
			xs = append(xs, t)
		}
	}
	if len(xs) == 0 {
		return nil
	}
	return pick(g, xs)
}

func (g *gen) pickTarget(openPct, completedPct int) *mTxn {
	r := g.rng.IntN(100)
	var o *mTxn
	switch {
	case r < openPct:
		o = g.original(func(t *mTxn) bool { return t.status == model.TxnAuthorized })
	case r < openPct+completedPct:
		o = g.original(func(t *mTxn) bool { return t.status == model.TxnCompleted })
	}
	if o == nil {
		o = g.original(func(*mTxn) bool { return true })
	}
	return o
}

// followUp is a clearing or reversal of o, naming it by one of the ways the
// docs list: DE 2 + DE 90, DE 2 + DE 37 + DE 38, DE 90 alone, DE 37 + DE 38
// alone, or (the simulate endpoints' path) its ID.
func (g *gen) followUp(typ msgType, o *mTxn, amount int64) *msg {
	x := &msg{typ: typ, mti: "0220", amount: amount, currency: "840", terminal: "TERM0001", de7: g.de7(),
		label: "of " + o.name + " (" + o.card.name + ")"}
	if typ == mReverse {
		x.mti = pick(g, []string{"0400", "0420"})
	}
	g.setMerchant(x, g.rng.IntN(len(merchants)))
	byRRN := false
	switch r := g.rng.IntN(100); {
	case r < 45:
		x.pan, x.de90 = o.card.pan, de90(o.mti, o.stan, o.de7)
	case r < 65:
		x.pan, x.authCode, byRRN = o.card.pan, o.authCode, true
	case r < 80:
		x.de90 = de90(o.mti, o.stan, o.de7)
	case r < 90:
		x.authCode, byRRN = o.authCode, true
	default:
		x.viaTxn = o
		return x
	}
	x.stan, x.rrn = g.nextSTAN(), o.rrn
	if !byRRN && g.pct(15) {
		x.rrn = g.nextRRN()
	}
	if g.pct(20) {
		// The original's STAN again: a second follow-up of the same class
		// that does so is a repeat of the first, or 94.
		x.stan = o.stan
		if g.stale(x) && !g.exercise(bugRepeatWindow) {
			x.stan = g.nextSTAN()
		}
	}
	if x.pan != "" && g.pct(5) {
		// Another card's PAN: a clearing becomes a force post, a reversal 25.
		other := g.card()
		if other.user != o.card.user && !g.exercise(bugCrossShardRepeat) {
			// Keep this follow-up's DE 11 + DE 37 its own: one that other
			// follow-ups reuse would be remembered in another user's shard.
			x.stan = g.nextSTAN()
		}
		x.pan, x.label = other.pan, x.label+" with DE 2 of "+other.name
	}
	if g.pct(2) {
		x.currency = "978"
	}
	return x
}

func (g *gen) clearing(step int) *op {
	o := g.pickTarget(70, 20)
	if o == nil {
		return nil
	}
	lim := o.amount + o.amount*g.m.overCapturePct/100
	amt := o.amount
	note := "exact"
	switch r := g.rng.IntN(100); {
	case r < 35 && o.amount > 1:
		amt, note = 1+g.rng.Int64N(o.amount-1), "partial capture"
	case r < 60:
	case r < 75 && lim > o.amount:
		amt, note = o.amount+1+g.rng.Int64N(lim-o.amount), "over-capture"
	case r < 85:
		amt, note = lim+1, "over the over-capture limit"
	case r < 90:
		amt, note = 0, "capture of zero"
	default:
		amt, note = 2*o.amount+1, "far over"
	}
	return g.keyCall(g.send(g.followUp(mClear, o, amt), note), "clr", step)
}

// keyCall gives half the API calls (a clearing or reversal by ID, an API
// refund) a new Idempotency-Key, and keeps them to retry.
func (g *gen) keyCall(o *op, prefix string, step int) *op {
	if o.kind == opMsg && o.x.viaTxn == nil {
		return o
	}
	if g.pct(50) {
		o.idemKey = fmt.Sprintf("%s-%d", prefix, step)
		g.keyedCalls = append(g.keyedCalls, o)
	}
	return o
}

// retry sends a request made under an Idempotency-Key again with its key:
// most often as it was, which must replay the first reply and change
// nothing while the key is remembered; otherwise with another body, or as
// a deposit under an API call's key (another route), which is a conflict
// while the key is remembered and a new request once it is not (or when
// the first attempt failed and so was not remembered).
func (g *gen) retry(step int) *op {
	all := append(append([]*op(nil), g.keyed...), g.keyedCalls...)
	if len(all) == 0 {
		return nil
	}
	prev := pick(g, all)
	if prev.kind == opDeposit && !prev.user.approved() {
		return nil // a deposit for a user who may not take one is refused, key or not
	}
	o := *prev
	if prev.x != nil {
		x := *prev.x
		o.x = &x
	}
	switch r := g.rng.IntN(100); {
	case r < 65:
		o.note = "retried"
	case r < 85 || prev.kind == opDeposit:
		o.note = "retried with another body"
		switch {
		case o.kind != opMsg:
			o.amount += 1 + g.rng.Int64N(100)
		case o.x.typ == mClear:
			o.x.amount += 1 + g.rng.Int64N(100)
		case o.x.hasRepl:
			o.x.repl += 1 + g.rng.Int64N(100)
		default:
			// A full reversal named as remainingAmount 0: the same effect,
			// another body.
			o.x.repl, o.x.hasRepl = 0, true
		}
	default:
		u := pick(g, g.m.users)
		if !u.approved() {
			return nil
		}
		return &op{kind: opDeposit, user: u, amount: 1000 + g.rng.Int64N(100000), idemKey: prev.idemKey,
			note: "another route under the key"}
	}
	return &o
}

func (g *gen) reversal(step int) *op {
	o := g.pickTarget(55, 35)
	if o == nil {
		return nil
	}
	x := g.followUp(mReverse, o, o.authorized)
	note := "full"
	switch r := g.rng.IntN(100); {
	case r < 40:
	case r < 70 && o.amount > 1:
		x.repl, x.hasRepl, note = 1+g.rng.Int64N(o.amount-1), true, "partial"
	case r < 78:
		x.repl, x.hasRepl, note = o.amount, true, "DE 95 = current amount"
	case r < 88:
		x.repl, x.hasRepl, note = o.amount+1+g.rng.Int64N(1000), true, "over-reversal"
	case r < 92:
		x.repl, x.hasRepl, note = 0, true, "DE 95 zero"
	default:
		if o.refunded > 0 {
			x.repl, x.hasRepl, note = g.rng.Int64N(o.refunded), true, "DE 95 below what was refunded"
		}
	}
	return g.keyCall(g.send(x, note), "rev", step)
}

// early sends a clearing or a reversal before its original, which the
// network holds back for a few steps.
func (g *gen) early(step int) *op {
	c := g.card()
	orig := g.authMsg(c, pick(g, []string{"0100", "0100", "0120"}), "00", g.amount())
	g.inflight = append(g.inflight, held{x: orig, due: step + 1 + g.rng.IntN(4), why: "original after its follow-up"})
	typ := mReverse
	if g.pct(40) {
		typ = mClear
	}
	x := &msg{typ: typ, mti: "0220", amount: orig.amount, currency: "840", terminal: "TERM0001", de7: g.de7(),
		stan: g.nextSTAN(), rrn: orig.rrn, de90: de90(orig.mti, orig.stan, orig.de7), merchantID: orig.merchantID,
		merchant: orig.merchant, label: fmt.Sprintf("of the %s stan=%s (%s) not yet delivered", orig.mti, orig.stan, c.name)}
	if typ == mReverse {
		x.mti = pick(g, []string{"0400", "0420"})
		if g.pct(30) && orig.amount > 1 {
			x.repl, x.hasRepl = 1+g.rng.Int64N(orig.amount-1), true
		}
	}
	if g.pct(60) {
		x.pan = c.pan
	}
	return g.send(x, "before its original")
}

func repeatMTI(mti string) string {
	switch mti {
	case "0100":
		return "0101"
	case "0400":
		return "0401"
	case "0420":
		return "0421"
	}
	return mti
}

// resend sends a message again, as its repeat MTI or as it was.
func (g *gen) resend(step int) *op {
	x := g.recent()
	if x == nil {
		return nil
	}
	y := *x
	if g.pct(50) {
		y.mti = repeatMTI(x.mti)
	}
	return g.send(&y, "resent")
}

func (g *gen) recent() *msg {
	var xs []*msg
	for i := len(g.sent) - 1; i >= 0 && len(xs) < 40; i-- {
		x := g.sent[i]
		if x.stan == "" || x.rrn == "" {
			continue
		}
		if g.stale(x) && !g.exercise(bugRepeatWindow) {
			continue
		}
		xs = append(xs, x)
	}
	if len(xs) == 0 {
		return nil
	}
	return pick(g, xs)
}

// stale reports whether a message with x's class, DE 11 and DE 37 was
// recorded and its repeat window has passed.
func (g *gen) stale(x *msg) bool {
	return g.m.repeats[repeatKey(x.class(), x.stan, x.rrn)] != nil && g.m.remembered(x) == nil
}

// changed reuses an earlier message's class, DE 11 and DE 37 with other
// content.
func (g *gen) changed(step int) *op {
	x := g.recent()
	if x == nil {
		return nil
	}
	y := *x
	note := ""
	switch r := g.rng.IntN(100); {
	case r < 40:
		if y.typ == mReverse && y.hasRepl {
			y.repl += 1 + g.rng.Int64N(300)
			note = "DE 95 changed"
		} else {
			y.amount += 1 + g.rng.Int64N(500)
			note = "DE 4 changed"
		}
	case r < 60:
		y.terminal, note = "TERM0099", "DE 41 changed"
	case r < 75:
		y.merchantID, note = "MERCHANT000099", "DE 42 changed"
	default:
		if y.pan == "" {
			y.terminal, note = "TERM0098", "DE 41 changed"
			break
		}
		from := g.m.byPAN[y.pan]
		var others []*mCard
		crossUser := g.pct(30) && g.exercise(bugCrossShardRepeat)
		for _, c := range g.m.cards {
			if from != nil && c != from && (c.user == from.user) != crossUser {
				others = append(others, c)
			}
		}
		if len(others) == 0 {
			y.terminal, note = "TERM0098", "DE 41 changed"
			break
		}
		c := pick(g, others)
		y.pan, y.label, note = c.pan, c.name+" (was "+y.label+")", "DE 2 changed"
		if crossUser {
			note += " to another user's card"
		}
	}
	return g.send(&y, "reused DE 11 + DE 37, "+note)
}

func (g *gen) unknownPAN(step int) *op {
	var pan string
	if g.pct(50) {
		// A Luhn-valid PAN in the BIN that was never issued.
		for {
			body := fmt.Sprintf("%s%09d", vault.DefaultBIN, g.rng.IntN(1_000_000_000))
			pan = body + luhnDigit(body)
			if g.m.byPAN[pan] == nil {
				break
			}
		}
	} else {
		// A PAN that fails the Luhn check.
		c := g.card()
		last := c.pan[len(c.pan)-1] - '0'
		pan = c.pan[:len(c.pan)-1] + string(rune('0'+(last+1+byte(g.rng.IntN(9)))%10))
	}
	c := g.card()
	x := g.authMsg(c, "0100", "00", g.amount())
	x.pan, x.label = pan, "unknown PAN"
	switch r := g.rng.IntN(100); {
	case r < 25:
		if o := g.original(func(*mTxn) bool { return true }); o != nil {
			y := g.followUp(mClear, o, o.amount)
			if y.viaTxn == nil {
				y.pan, y.label = pan, "unknown PAN "+y.label
				x = y
			}
		}
	case r < 50:
		if o := g.original(func(*mTxn) bool { return true }); o != nil {
			y := g.followUp(mReverse, o, o.amount)
			if y.viaTxn == nil {
				y.pan, y.label = pan, "unknown PAN "+y.label
				x = y
			}
		}
	}
	return g.send(x, "unknown card")
}

func luhnDigit(body string) string {
	sum := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return fmt.Sprint((10 - sum%10) % 10)
}

// unknownOriginal names an original that never existed.
func (g *gen) unknownOriginal(step int) *op {
	c := g.card()
	x := &msg{typ: mReverse, mti: "0400", amount: g.amount(), currency: "840", terminal: "TERM0001", de7: g.de7(),
		stan: g.nextSTAN(), rrn: g.nextRRN(), de90: de90("0100", fmt.Sprintf("9%05d", g.rng.IntN(100000)), g.de7()),
		merchantID: merchants[c.home].id, merchant: merchants[c.home].name, label: "of nothing (" + c.name + ")"}
	if g.pct(40) {
		x.typ, x.mti = mClear, "0220"
	}
	if g.pct(50) {
		x.pan = c.pan
	}
	if g.pct(30) {
		x.de90, x.authCode = "", "ZZZZZZ"
	}
	return g.send(x, "unknown original")
}

func (g *gen) apiRefund(step int) *op {
	var o *mTxn
	if g.pct(70) {
		o = g.original(func(t *mTxn) bool { return t.status == model.TxnCompleted })
	}
	if o == nil {
		var xs []*mTxn
		for _, t := range g.m.txns {
			if t.id != "" {
				xs = append(xs, t)
			}
		}
		if len(xs) == 0 {
			return nil
		}
		o = pick(g, xs)
	}
	left := o.amount - o.refunded
	amt := 1 + g.rng.Int64N(max(left, 1)+200)
	if g.pct(60) && left > 0 {
		amt = 1 + g.rng.Int64N(left)
	}
	return g.keyCall(&op{kind: opRefund, txn: o, amount: amt}, "ref", step)
}

func (g *gen) createIntent(step int) *op {
	c := g.card()
	for i := 0; i < 3 && c.single && g.pct(75); i++ {
		c = g.card()
	}
	it := &mIntent{card: c, tolerance: 0, merchant: pick(g, intentMerchants)}
	var mine []*mIntent
	for _, old := range g.m.intents {
		if old.card == c {
			mine = append(mine, old)
		}
	}
	if len(mine) > 0 && g.pct(10) {
		it.clientID = pick(g, mine).clientID
	} else {
		g.clientSeq++
		it.clientID = fmt.Sprintf("intent-%d", g.clientSeq)
	}
	if g.pct(80) {
		v := g.amount()
		it.expAmount = &v
		if !g.pct(30) {
			it.tolerance = g.rng.Int64N(500)
		}
	}
	switch r := g.rng.IntN(100); {
	case r < 20:
	case r < 80:
		it.ttl = 1 + g.rng.Int64N(90)
	default:
		it.ttl = 90 + g.rng.Int64N(1351)
	}
	return &op{kind: opIntent, intent: it, card: c}
}

func (g *gen) cancelIntent(step int) *op {
	if len(g.m.intents) == 0 {
		return nil
	}
	return &op{kind: opCancel, intent: pick(g, g.m.intents)}
}

func (g *gen) details(step int) *op {
	c := g.card()
	if g.pct(70) {
		var xs []*mCard
		for _, it := range g.m.intents {
			if it.status == model.IntentPending {
				xs = append(xs, it.card)
			}
		}
		if len(xs) > 0 {
			c = pick(g, xs)
		}
	}
	return &op{kind: opDetails, card: c}
}

func (g *gen) advanceBy(d time.Duration) *op { return &op{kind: opAdvance, d: d} }

// advance moves the clock: seconds, minutes, across the repeat window,
// hours, days, past the hold expiry, across months.
func (g *gen) advance(step int) *op {
	var d time.Duration
	switch r := g.rng.IntN(100); {
	case r < 10:
		d = time.Duration(1+g.rng.IntN(59)) * time.Second
	case r < 40:
		d = time.Duration(1+g.rng.IntN(5)) * time.Minute
	case r < 60:
		d = time.Duration(10+g.rng.IntN(11)) * time.Minute
	case r < 78:
		d = time.Duration(1+g.rng.IntN(6)) * time.Hour
	case r < 90:
		d = time.Duration(20+g.rng.IntN(11)) * time.Hour
	case r < 95:
		d = time.Duration(g.m.holdExpiryMs)*time.Millisecond + time.Duration(g.rng.IntN(11))*time.Minute
	default:
		d = time.Duration(3+g.rng.IntN(33)) * 24 * time.Hour
	}
	return g.advanceBy(d)
}

func (g *gen) deposit(step int) *op {
	if len(g.keyed) > 0 && g.rng.IntN(3) == 0 {
		prev := pick(g, g.keyed)
		if !prev.user.approved() {
			return nil
		}
		return &op{kind: opDeposit, user: prev.user, amount: prev.amount, idemKey: prev.idemKey}
	}
	o := &op{kind: opDeposit, user: pick(g, g.m.users), amount: 1000 + g.rng.Int64N(100000)}
	if !o.user.approved() {
		return nil // refused (user_not_verified); not what a deposit step tests
	}
	if g.rng.IntN(2) == 0 {
		o.idemKey = fmt.Sprintf("dep-%d", step)
		g.keyed = append(g.keyed, o)
	}
	return o
}

// dispute disputes a completed purchase, mostly, or any transaction.
func (g *gen) dispute(step int) *op {
	t := g.original(func(t *mTxn) bool { return t.status == model.TxnCompleted })
	if t == nil || g.pct(20) {
		var xs []*mTxn
		for _, x := range g.m.txns {
			if x.id != "" {
				xs = append(xs, x)
			}
		}
		if len(xs) == 0 {
			return nil
		}
		t = pick(g, xs)
	}
	return &op{kind: opDispute, txn: t}
}

// resolveDispute decides a dispute, open mostly, won or lost.
func (g *gen) resolveDispute(step int) *op {
	if len(g.m.disputes) == 0 {
		return nil
	}
	var open []*mDispute
	for _, d := range g.m.disputes {
		if d.status == model.DisputePending {
			open = append(open, d)
		}
	}
	d := pick(g, g.m.disputes)
	if len(open) > 0 && g.pct(85) {
		d = pick(g, open)
	}
	outcome := model.DisputeWon
	if g.pct(40) {
		outcome = model.DisputeLost
	}
	return &op{kind: opResolveDispute, dispute: d, outcome: outcome}
}

// kyc moves a user's KYC application between approved and the statuses
// an approved user can be sent to and come back from: re-verification
// (needsVerification), a lock, and those short of a decision that follow
// them (manualReview, needsInformation), now and then one the user cannot
// reach (refused).
func (g *gen) kyc(step int) *op {
	u := pick(g, g.m.users)
	var to string
	switch {
	case g.pct(5):
		to = pick(g, []string{model.AppPending, model.AppManualReview})
	case u.approved():
		to = pick(g, []string{model.AppNeedsVerification, model.AppLocked})
	case g.pct(70):
		to = model.AppApproved
	case u.app == model.AppLocked:
		to = model.AppNeedsVerification
	default:
		to = pick(g, []string{model.AppManualReview, model.AppNeedsInformation, model.AppLocked})
	}
	return &op{kind: opKYC, user: u, outcome: to}
}

// withdraw takes part of what a user has available, all of it, or more
// than that (refused).
func (g *gen) withdraw(step int) *op {
	u := pick(g, g.m.users)
	avail := u.available()
	var amount int64
	switch r := g.rng.IntN(10); {
	case r < 6 && avail > 1:
		amount = 1 + g.rng.Int64N(avail/2)
	case r < 8 && avail > 0:
		amount = avail
	default:
		amount = max(avail, 0) + 1 + g.rng.Int64N(1000)
	}
	return &op{kind: opWithdraw, user: u, amount: amount}
}

func (g *gen) reactivate(step int) *op {
	var xs []*mAgent
	for _, a := range g.m.agents {
		if a.status != model.AgentActive {
			xs = append(xs, a)
		}
	}
	if len(xs) == 0 {
		xs = g.m.agents
	}
	return &op{kind: opReactivate, agent: pick(g, xs)}
}

func (g *gen) freeze(step int) *op { return &op{kind: opFreeze, card: g.card()} }

func (g *gen) unfreeze(step int) *op {
	var xs []*mCard
	for _, c := range g.m.cards {
		if c.status == model.CardFrozen {
			xs = append(xs, c)
		}
	}
	if len(xs) == 0 {
		xs = g.m.cards
	}
	return &op{kind: opUnfreeze, card: pick(g, xs)}
}

func (g *gen) issue(step int) *op {
	a := pick(g, g.m.agents)
	return &op{kind: opIssue, agent: a, card: g.cardSpec(a)}
}

// deregister retires an agent now and then (its cards close), keeping
// at least two agents that are not.
func (g *gen) deregister(step int) *op {
	var live []*mAgent
	for _, a := range g.m.agents {
		if a.status != model.AgentDeregistered {
			live = append(live, a)
		}
	}
	if len(live) < 3 || !g.pct(30) {
		return nil
	}
	return &op{kind: opDeregister, agent: pick(g, g.m.agents)}
}

func (g *gen) restart(step int) *op {
	if g.restarts >= g.maxRestarts {
		return nil
	}
	if !g.exercise(bugUsageDelta) {
		for _, c := range g.m.cards {
			if c.recordUsed && !c.used {
				return nil
			}
		}
	}
	g.restarts++
	return &op{kind: opRestart}
}

func (g *gen) opt(p int, lo, n int64) *int64 {
	if !g.pct(p) {
		return nil
	}
	v := lo + g.rng.Int64N(n)
	return &v
}

// cardSpec draws a card: single- or multi-use, with or without limits, a
// merchant hint, a lifetime, an attestation window.
func (g *gen) cardSpec(a *mAgent) *mCard {
	c := &mCard{agent: a, user: a.user, single: g.pct(35), exposure: model.ExposureRawPAN, home: g.rng.IntN(len(merchants))}
	switch r := g.rng.IntN(100); {
	case r < 10:
		c.exposure = model.ExposureExtension
	case r < 15:
		c.exposure = model.ExposureNever
	}
	if !c.single && g.pct(25) {
		h := pick(g, hints)
		c.hint, c.home = h.hint, h.home
		c.onDrift = pick(g, []string{model.DriftFreeze, model.DriftNotify, model.DriftNone, ""})
	}
	c.maxAmount = g.opt(15, 3000, 27000)
	c.perAuth = g.opt(20, 3000, 20000)
	c.perDay = g.opt(20, 5000, 35000)
	c.perMonth = g.opt(15, 20000, 130000)
	if !c.single {
		c.maxAuthCount = g.opt(15, 1, 6)
	}
	c.ttlDays = g.opt(20, 1, 20)
	c.attestMin = pick(g, []int64{0, 5, 30, 60, 1440})
	if len(g.m.policies) > 0 && g.pct(40) {
		c.policy = pick(g, g.m.policies)
	}
	c.notActivated = g.pct(10)
	return c
}

// mccOr5411 is DE 18: the message's category, 5411 when it has none.
func (x *msg) mccOr5411() string {
	if x.mcc == "" {
		return "5411"
	}
	return x.mcc
}

// activate activates a card: mostly one waiting for it, now and then any
// (refused unless it is notActivated).
func (g *gen) activate(step int) *op {
	var xs []*mCard
	for _, c := range g.m.cards {
		if c.status == model.CardNotActivated {
			xs = append(xs, c)
		}
	}
	if len(xs) == 0 || g.pct(20) {
		xs = g.m.cards
	}
	return &op{kind: opActivate, card: pick(g, xs)}
}
