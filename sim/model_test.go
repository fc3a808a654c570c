package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/matcher"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/risk"
)

// This file is the reference model: the documented semantics of
// docs/iso8583.md (and of the card, intent and details rules the ledger
// documents) written as plainly as possible, over plain structs, slices and
// maps. It shares no code with the decision core except what is not under
// test here: matcher.MerchantMatches (intent merchant comparison, tested on
// its own in matcher/), the vault's CVV2 derivation (the harness hands the
// model each card's CVV2), and constants (response codes, reasons,
// statuses, ledger.MaxAccessesPerHour, ledger.DetailsIntentWait).
//
// Where the docs leave a case open, or say two things, the model follows
// the code, and says so where it does:
//
//   - a refund (or refund advice) whose DE 90 names a purchase of the card
//     that is not completed is declined 12 and not recorded (the docs name
//     only 13 and approval);
//   - an original is found however old (the "How the original ... is
//     found" section), not only within the repeat window after its
//     completion (the Reversals section);
//
// Where the ledger keeps counters per window and adjusts them in place, the
// model keeps a list of (instant, cents) entries and sums the ones in the
// window asked about: an adjustment (partial capture, over-capture,
// reversal, expiry) is booked at the instant of the authorization it
// belongs to, which is what "in the windows the authorization was counted
// in" means.

const (
	minuteMs = int64(time.Minute / time.Millisecond)
	hourMs   = 60 * minuteMs
	dayMs    = 24 * hourMs
)

// spend is an amount counted against a limit window at the instant of the
// authorization it belongs to.
type spend struct{ atMs, cents int64 }

type mUser struct {
	name, id                    string
	deposited, settled, pending int64
	// app is the KYC application status; "" is approved, as every user
	// starts.
	app string
}

func (u *mUser) approved() bool { return u.app == "" || u.app == model.AppApproved }

func (u *mUser) available() int64 { return u.settled - u.pending }

type mAgent struct {
	name, id string
	// defaultPolicy applies to its cards that name none.
	defaultPolicy *mPolicy
	user          *mUser
	limit         *int64
	freq          string
	onLimit       string
	status        string
	spends        []spend
}

type mCard struct {
	name, id string
	agent    *mAgent
	user     *mUser
	single   bool
	status   string
	// frozenBySuspension: frozen because the agent was suspended, so that
	// reactivating the agent unfreezes it.
	frozenBySuspension bool
	exposure           string
	maxAmount          *int64
	perAuth            *int64
	perDay             *int64
	perMonth           *int64
	maxAuthCount       *int64
	ttlDays            *int64
	hint               string
	onDrift            string
	attestMin          int64
	createdMs          int64
	// notActivated: issued notActivated; awaiting: not activated since
	// (frozen and unfrozen, it is notActivated again).
	notActivated, awaiting bool
	// expiredMs is when the end of its lifetime closed the card.
	expiredMs         int64
	expYear, expMonth string // YYYY, MM
	pan, cvv          string
	home              int // index of the merchant the generator mostly uses it at

	authCount int64
	used      bool
	// recordUsed is "used" as of the last change of the card's status (when
	// the ledger writes its whole record); see bugUsageDelta.
	recordUsed bool
	locked     string // the merchant a multi-use card locked to: DE 42 + "|" + name key
	spends     []spend
	// origs: this card's approved purchases by "s" + DE 11 | DE 7 and by
	// "r" + DE 37 | approval code; with DE 2 only these are searched.
	origs        map[string]*mTxn
	lastAccessMs int64
	accesses     []int64
	// policy is the card's own policy (nil: its agent's default, if any);
	// lastAuthMs the instant of its last approved purchase (cooldown).
	policy     *mPolicy
	lastAuthMs int64
}

// mPolicy is a policy's controls as the model reads them. The cards of the
// simulation set none of these themselves but maxAuthCount, whose own
// value wins over the policy's.
type mPolicy struct {
	name, id             string
	blocked, allowed     []string
	cumulativeMax        *int64
	maxAuthCount         *int64
	cooldownMinutes      *int64
	hoursStart, hoursEnd *int64
	zone                 string
	days                 []int64
}

// policyOf is the policy that applies to c: its own, else its agent's
// default.
func (c *mCard) policyOf() *mPolicy {
	if c.policy != nil {
		return c.policy
	}
	return c.agent.defaultPolicy
}

// authCountMax is the card's maxAuthCount, else its policy's.
func (c *mCard) authCountMax() *int64 {
	if c.maxAuthCount != nil {
		return c.maxAuthCount
	}
	if p := c.policyOf(); p != nil {
		return p.maxAuthCount
	}
	return nil
}

// total is everything the card has spent, less what was released.
func (c *mCard) total() int64 { return sum(c.spends, func(int64) bool { return true }) }

// withinActiveHours reads now on the wall clock of the policy's zone:
// the day among its days (when it has some), the hour in [start, end),
// across midnight when end <= start (the whole day when equal).
func (p *mPolicy) withinActiveHours(nowMs int64) bool {
	loc := time.UTC
	if p.zone != "" {
		l, err := time.LoadLocation(p.zone)
		if err != nil {
			panic(err)
		}
		loc = l
	}
	local := time.UnixMilli(nowMs).In(loc)
	if len(p.days) > 0 && !slices.Contains(p.days, int64(local.Weekday())) {
		return false
	}
	if p.hoursStart == nil {
		return true
	}
	h, start, end := int64(local.Hour()), *p.hoursStart, *p.hoursEnd
	if start < end {
		return h >= start && h < end
	}
	return h >= start || h < end
}

// expiryYYMM is DE 14 for the card.
func (c *mCard) expiryYYMM() string { return c.expYear[2:] + c.expMonth }

type mTxn struct {
	name, id       string
	card           *mCard
	kind           string // model.KindPurchase, KindRefund, KindVerification
	status         string
	amount         int64
	authorized     int64
	hold           int64
	reversed       int64
	refunded       int64
	code, reason   string
	authCode       string
	reversalReason string
	forcePost      bool
	standIn        bool
	original       *mTxn
	intent         *mIntent
	attestation    string
	authAtMs       int64
	holdExpiresMs  int64
	// requested is what a partial approval was asked for (0 otherwise).
	requested int64
	// autoSettleMs is when auto-settle completes it (0: off when approved).
	autoSettleMs int64
	// isOriginal marks an approved purchase (0100, 0101, 0120, 0200): only
	// those are found by clearings and reversals.
	isOriginal bool
	// The network identity of the message that created it.
	mti, stan, rrn, de7 string
	// merchant is DE 43's name (the risk rules compare it).
	merchant string
}

// mDispute is a dispute of a completed purchase.
type mDispute struct {
	id     string
	txn    *mTxn
	status string
	amount int64
	credit *mTxn
}

type mIntent struct {
	name, id      string
	card          *mCard
	clientID      string
	expAmount     *int64
	tolerance     int64
	merchant      string
	createdMs     int64
	expiresMs     int64
	status        string
	txn           *mTxn
	amountMatch   bool
	merchantMatch bool
	accessedMs    int64
	ttl           int64 // minutes; 0 is the default, 30
}

func (it *mIntent) ttlMinutes() int64 {
	if it.ttl == 0 {
		return 30
	}
	return it.ttl
}

// fingerprint is the content of a message that decides whether a message
// reusing its class, DE 11 and DE 37 is a repeat: the card, the transaction
// type, DE 4, DE 49, DE 41, DE 42, and DE 95 for reversals.
type fingerprint struct {
	class    byte
	card     *mCard // the card the message named (nil: no DE 2)
	kind     authz.Kind
	amount   int64
	currency string
	merchant string // DE 42
	terminal string // DE 41
	repl     int64  // DE 95
	// amend: an incremental authorization or an advice naming an
	// authorization by DE 90.
	amend bool
}

// repeatRec is a remembered first reply.
type repeatRec struct {
	fp       fingerprint
	code     string
	reason   string
	txn      *mTxn
	authCode string
	atMs     int64
}

// expect is what the model says a step must produce.
type expect struct {
	code   string
	reason string // for recorded declines: the declinedReason of the record
	// newTxn is a transaction the message must create (the reply names it).
	newTxn *mTxn
	// txn is an existing transaction the reply must name, with its
	// approval code.
	txn *mTxn
	// rec: the reply is this earlier reply, repeated.
	rec *repeatRec
	// newRec is the repeat record the message leaves; its approval code is
	// learnt from the reply when the message created the transaction.
	newRec     *repeatRec
	balance    int64
	hasBalance bool
	// errCode is the ledger.Error code an API operation must fail with
	// ("" for success).
	errCode string
	// newIntent is an intent the call must create.
	newIntent *mIntent
	intent    *mIntent
}

type refModel struct {
	nowMs          int64
	overCapturePct int64
	holdExpiryMs   int64
	repeatWindowMs int64
	autoSettleMs   int64 // 0: off

	users    []*mUser
	policies []*mPolicy
	risk     *mRisk
	// riskAlerts counts the risk.alert events the model expects.
	riskAlerts int
	agents     []*mAgent
	cards      []*mCard
	txns       []*mTxn
	intents    []*mIntent
	disputes   []*mDispute

	byPAN    map[string]*mCard
	repeats  map[string]*repeatRec // class + DE 11 + DE 37
	origSTAN map[string]*mTxn      // DE 11 | DE 7 of approved purchases
	origRRN  map[string]*mTxn      // DE 37 | approval code of approved purchases

	// dirty lists what changed in the current step, to compare first.
	dirtyTxns    []*mTxn
	dirtyIntents []*mIntent
}

func newModel(start time.Time, overCapturePct int64, holdExpiry, repeatWindow, autoSettle time.Duration) *refModel {
	return &refModel{
		nowMs: start.UnixMilli(), overCapturePct: overCapturePct, autoSettleMs: autoSettle.Milliseconds(),
		holdExpiryMs: holdExpiry.Milliseconds(), repeatWindowMs: repeatWindow.Milliseconds(),
		byPAN: map[string]*mCard{}, repeats: map[string]*repeatRec{},
		origSTAN: map[string]*mTxn{}, origRRN: map[string]*mTxn{},
	}
}

func (m *refModel) now() time.Time { return time.UnixMilli(m.nowMs).UTC() }

func (m *refModel) touch(t *mTxn) { m.dirtyTxns = append(m.dirtyTxns, t) }

func (m *refModel) touchIntent(it *mIntent) { m.dirtyIntents = append(m.dirtyIntents, it) }

func (m *refModel) addTxn(t *mTxn) {
	t.name = fmt.Sprintf("T%d", len(m.txns)+1)
	m.txns = append(m.txns, t)
	m.touch(t)
}

// ---- windows ----

func sameDay(a, b int64) bool {
	ta, tb := time.UnixMilli(a).UTC(), time.UnixMilli(b).UTC()
	return ta.Year() == tb.Year() && ta.YearDay() == tb.YearDay()
}

func sameMonth(a, b int64) bool {
	ta, tb := time.UnixMilli(a).UTC(), time.UnixMilli(b).UTC()
	return ta.Year() == tb.Year() && ta.Month() == tb.Month()
}

func sameWeek(a, b int64) bool {
	ya, wa := time.UnixMilli(a).UTC().ISOWeek()
	yb, wb := time.UnixMilli(b).UTC().ISOWeek()
	return ya == yb && wa == wb
}

func sameYear(a, b int64) bool {
	return time.UnixMilli(a).UTC().Year() == time.UnixMilli(b).UTC().Year()
}

func sum(ss []spend, in func(atMs int64) bool) int64 {
	var n int64
	for _, s := range ss {
		if in(s.atMs) {
			n += s.cents
		}
	}
	return n
}

func (m *refModel) cardDaySpend(c *mCard) int64 {
	return sum(c.spends, func(at int64) bool { return sameDay(at, m.nowMs) })
}

func (m *refModel) cardMonthSpend(c *mCard) int64 {
	return sum(c.spends, func(at int64) bool { return sameMonth(at, m.nowMs) })
}

// agentSpend is the agent's spend in its current period.
func (m *refModel) agentSpend(a *mAgent) int64 {
	now := m.nowMs
	switch a.freq {
	case model.FreqPerTransaction:
		return 0
	case model.FreqPer24Hours:
		h := now / hourMs
		return sum(a.spends, func(at int64) bool { return at/hourMs > h-24 && at/hourMs <= h })
	case model.FreqPerWeek:
		return sum(a.spends, func(at int64) bool { return sameWeek(at, now) })
	case model.FreqPerMonth:
		return sum(a.spends, func(at int64) bool { return sameMonth(at, now) })
	case model.FreqPerYear:
		return sum(a.spends, func(at int64) bool { return sameYear(at, now) })
	}
	return sum(a.spends, func(int64) bool { return true })
}

func (m *refModel) count(c *mCard, atMs, cents int64) {
	c.spends = append(c.spends, spend{atMs, cents})
	c.agent.spends = append(c.agent.spends, spend{atMs, cents})
}

// ---- merchants ----

// nameKey is a merchant name as compared for locks and hints: upper case,
// letters and digits only.
func nameKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func lockOf(x *msg) string { return x.merchantID + "|" + nameKey(x.merchant) }

// ---- card lifetime ----

// expired: ttlDays since issue have passed, or the expiry month has ended.
func (m *refModel) expired(c *mCard) bool {
	if c.ttlDays != nil && m.nowMs >= c.createdMs+*c.ttlDays*dayMs {
		return true
	}
	var y, mo int
	fmt.Sscanf(c.expYear+" "+c.expMonth, "%d %d", &y, &mo)
	end := time.Date(y, time.Month(mo)+1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	return m.nowMs >= end
}

// ---- repeats ----

func repeatKey(class byte, stan, rrn string) string { return string(class) + stan + "|" + rrn }

// remembered returns the first reply a message with this class, DE 11 and
// DE 37 got within the repeat window.
func (m *refModel) remembered(x *msg) *repeatRec {
	if x.stan == "" || x.rrn == "" {
		return nil
	}
	r := m.repeats[repeatKey(x.class(), x.stan, x.rrn)]
	if r == nil || m.nowMs >= r.atMs+m.repeatWindowMs {
		return nil
	}
	return r
}

func (m *refModel) replay(x *msg, f fingerprint) (expect, bool) {
	r := m.remembered(x)
	if r == nil {
		return expect{}, false
	}
	if r.fp != f {
		return expect{code: authz.CodeDuplicate}, true
	}
	return expect{code: r.code, rec: r}, true
}

func (m *refModel) remember(x *msg, f fingerprint, code, reason string, t *mTxn) *repeatRec {
	if x.stan == "" || x.rrn == "" {
		return nil
	}
	r := &repeatRec{fp: f, code: code, reason: reason, txn: t, atMs: m.nowMs}
	if t != nil {
		r.authCode = t.authCode
	}
	m.repeats[repeatKey(x.class(), x.stan, x.rrn)] = r
	return r
}

// bind learns what the core named a transaction the model expected it to
// create: its ID and approval code.
func (m *refModel) bind(e *expect, id, authCode string) {
	t := e.newTxn
	t.id, t.authCode = id, authCode
	if e.newRec != nil && e.newRec.txn == t {
		e.newRec.authCode = authCode
	}
	if t.isOriginal && t.rrn != "" {
		m.origRRN[t.rrn+"|"+authCode] = t
		t.card.orig()["r"+t.rrn+"|"+authCode] = t
	}
}

// ---- authorizations ----

type decision struct {
	code, reason    string
	freeze, suspend bool
}

func approve() decision { return decision{code: authz.CodeApproved} }

func declineWith(code, reason string) decision { return decision{code: code, reason: reason} }

func procKind(proc string, amount int64) authz.Kind {
	switch proc {
	case "20":
		return authz.Refund
	case "31":
		return authz.BalanceInquiry
	}
	if amount == 0 {
		return authz.Verification
	}
	return authz.Purchase
}

// decide is "The decision" of docs/iso8583.md, rules 4 to 20, in order.
func (m *refModel) decide(c *mCard, x *msg, kind authz.Kind) decision {
	if x.mti == "0120" {
		return approve()
	}
	if kind == authz.Refund {
		switch {
		case x.currency != "840":
			return declineWith(authz.CodeNotPermitted, authz.ReasonCurrency)
		case x.amount <= 0:
			return declineWith(authz.CodeInvalidAmount, authz.ReasonInvalidAmount)
		}
		return approve()
	}
	// Past its lifetime a card declines as expired, whatever its status.
	if m.expired(c) {
		return declineWith(authz.CodeExpiredCard, authz.ReasonExpiredCard)
	}
	switch c.status {
	case model.CardClosed:
		return declineWith(authz.CodeNotPermitted, authz.ReasonCardClosed)
	case model.CardFrozen:
		return declineWith(authz.CodeRestrictedCard, authz.ReasonCardFrozen)
	case model.CardNotActivated:
		return declineWith(authz.CodeRestrictedCard, authz.ReasonCardNotActivated)
	}
	if u := c.user; !u.approved() {
		reason := authz.ReasonUserNotVerified
		if u.app == model.AppLocked {
			reason = authz.ReasonUserLocked
		}
		return declineWith(authz.CodeRestrictedCard, reason)
	}
	if c.agent.status != model.AgentActive {
		return declineWith(authz.CodeRestrictedCard, authz.ReasonAgentSuspended)
	}
	if x.expiry != "" && x.expiry != c.expiryYYMM() {
		return declineWith(authz.CodeExpiredCard, authz.ReasonInvalidExpiry)
	}
	if x.hasCVV && x.cvv != c.cvv {
		return declineWith(authz.CodeCVVMismatch, authz.ReasonCVVMismatch)
	}
	if x.currency != "840" {
		return declineWith(authz.CodeNotPermitted, authz.ReasonCurrency)
	}
	if kind == authz.BalanceInquiry || kind == authz.Verification {
		return approve()
	}
	amt := x.amount
	if c.single && c.used {
		return declineWith(authz.CodeFrequencyLimit, authz.ReasonCardUsed)
	}
	if p := c.policyOf(); p != nil {
		switch {
		case len(p.blocked) > 0 && slices.Contains(p.blocked, x.mccOr5411()),
			len(p.allowed) > 0 && !slices.Contains(p.allowed, x.mccOr5411()):
			return declineWith(authz.CodeNotPermitted, authz.ReasonBlockedMCC)
		case !p.withinActiveHours(m.nowMs):
			return declineWith(authz.CodeNotPermitted, authz.ReasonOutsideActiveHours)
		case p.cooldownMinutes != nil && *p.cooldownMinutes > 0 && c.lastAuthMs != 0 && m.nowMs < c.lastAuthMs+*p.cooldownMinutes*minuteMs:
			return declineWith(authz.CodeFrequencyLimit, authz.ReasonCooldown)
		case p.cumulativeMax != nil && c.total()+amt > *p.cumulativeMax:
			return declineWith(authz.CodeAmountLimit, authz.ReasonCumulativeLimit)
		}
	}
	if mac := c.authCountMax(); mac != nil && c.authCount >= *mac {
		return declineWith(authz.CodeFrequencyLimit, authz.ReasonAuthCount)
	}
	if (c.maxAmount != nil && amt > *c.maxAmount) || (c.perAuth != nil && amt > *c.perAuth) ||
		(c.perDay != nil && m.cardDaySpend(c)+amt > *c.perDay) || (c.perMonth != nil && m.cardMonthSpend(c)+amt > *c.perMonth) {
		return declineWith(authz.CodeAmountLimit, authz.ReasonSpendingLimit)
	}
	if hk := nameKey(c.hint); hk != "" {
		if nameKey(x.merchant) != hk && c.onDrift == model.DriftFreeze {
			return decision{code: authz.CodeDoNotHonor, reason: authz.ReasonMerchantDrift, freeze: true}
		}
	} else if !c.single && c.locked != "" && c.locked != lockOf(x) {
		return declineWith(authz.CodeDoNotHonor, authz.ReasonBlockedMerchant)
	}
	if a := c.agent; a.limit != nil {
		over := amt > *a.limit
		if a.freq != model.FreqPerTransaction {
			over = m.agentSpend(a)+amt > *a.limit
		}
		if over {
			switch a.onLimit {
			case model.OnLimitNotify:
			case model.OnLimitSuspend:
				return decision{code: authz.CodeAmountLimit, reason: authz.ReasonAgentLimit, suspend: true}
			default:
				return declineWith(authz.CodeAmountLimit, authz.ReasonAgentLimit)
			}
		}
	}
	if amt > c.user.available() {
		return declineWith(authz.CodeInsufficientFunds, authz.ReasonInsufficientFunds)
	}
	return approve()
}

func kindName(k authz.Kind) string {
	switch k {
	case authz.Refund:
		return model.KindRefund
	case authz.Verification:
		return model.KindVerification
	}
	return model.KindPurchase
}

// authorize is an 0100, 0101, 0120 or 0200.
func (m *refModel) authorize(x *msg) expect {
	c := m.byPAN[x.pan]
	if c == nil {
		return expect{code: authz.CodeInvalidCard}
	}
	kind := procKind(x.proc, x.amount)
	f := fingerprint{class: x.class(), card: c, kind: kind, amount: x.amount, currency: x.currency, merchant: x.merchantID, terminal: x.terminal}
	if x.de90 != "" && kind == authz.Purchase && x.mti != "0200" {
		f.amend = true
		return m.amend(c, x, f)
	}
	if e, seen := m.replay(x, f); seen {
		return e
	}
	d := m.decide(c, x, kind)
	asked := x.amount
	if d2, y, ok := m.partial(c, x, kind, d); ok {
		d, x = d2, y
	}
	if kind == authz.BalanceInquiry {
		// Not recorded, not remembered.
		e := expect{code: d.code}
		if d.code == authz.CodeApproved {
			e.balance, e.hasBalance = c.user.available(), true
		}
		return e
	}
	t := &mTxn{card: c, kind: kindName(kind), amount: x.amount, authorized: x.amount, code: d.code, reason: d.reason,
		standIn: x.mti == "0120", mti: x.mti, stan: x.stan, rrn: x.rrn, de7: x.de7, merchant: x.merchant}
	if x.amount < asked {
		t.code, t.requested = authz.CodePartialApproval, asked
	}
	switch {
	case d.code != authz.CodeApproved:
		t.status, t.authorized = model.TxnDeclined, 0 // a decline authorizes nothing
		if d.freeze {
			m.setStatus(c, model.CardFrozen)
		}
		if d.suspend {
			m.setAgentStatus(c.agent, model.AgentSuspended)
		}
	case kind == authz.Refund:
		t.status = model.TxnCompleted
		if len(x.de90) >= 20 {
			if o := c.orig()["s"+x.de90[4:10]+"|"+x.de90[10:20]]; o != nil {
				// Only what was charged can be refunded: the code's rule
				// (see the top of this file).
				if o.status != model.TxnCompleted {
					return expect{code: authz.CodeInvalidTxn}
				}
				if x.amount > o.amount-o.refunded {
					return expect{code: authz.CodeInvalidAmount}
				}
				o.refunded += x.amount
				t.original = o
				m.touch(o)
			}
		}
		c.user.settled += x.amount
	case kind == authz.Verification:
		t.status = model.TxnCompleted
	default:
		m.approvePurchase(c, t, x)
	}
	m.addTxn(t)
	if t.kind == model.KindPurchase {
		m.assessRisk(c, t)
	}
	rec := m.remember(x, f, t.code, d.reason, t)
	return expect{code: t.code, reason: d.reason, newTxn: t, newRec: rec}
}

// mRisk is the organization's risk settings as the simulation sets them:
// duplicate detection, the velocity limit and cooldown violation, each
// with an action (the other rules are off); dryRun records alerts only.
type mRisk struct {
	dryRun                         bool
	dup, vel, cooldown             bool
	dupWindowMin                   int64
	maxPerHour, maxPerDay          int64
	dupAction, velAction, cdAction string
}

// assessRisk is the risk engine on a purchase just decided: each rule that
// fires records a risk.alert; unless dryRun, the strongest action is taken
// (suspend_agent over freeze_card over alert) if the agent is still active
// or the card still active.
func (m *refModel) assessRisk(c *mCard, t *mTxn) {
	r := m.risk
	if r == nil {
		return
	}
	var acts []string
	if r.cooldown && t.reason == authz.ReasonCooldown {
		acts = append(acts, r.cdAction)
	}
	if t.status != model.TxnDeclined {
		var history []*mTxn // approved, not reversed purchases of the card before this one
		for _, p := range m.txns {
			if p != t && p.card == c && p.kind == model.KindPurchase && p.authAtMs != 0 &&
				p.status != model.TxnDeclined && p.status != model.TxnReversed {
				history = append(history, p)
			}
		}
		if r.dup {
			for _, p := range history {
				if p.authAtMs >= m.nowMs-r.dupWindowMin*minuteMs && p.amount == t.amount && nameKey(p.merchant) == nameKey(t.merchant) {
					acts = append(acts, r.dupAction)
					break
				}
			}
		}
		if r.vel {
			hour, day := int64(1), int64(1)
			for _, p := range history {
				if p.authAtMs > m.nowMs-hourMs {
					hour++
				}
				if p.authAtMs > m.nowMs-dayMs {
					day++
				}
			}
			if (r.maxPerHour > 0 && hour > r.maxPerHour) || (r.maxPerDay > 0 && day > r.maxPerDay) {
				acts = append(acts, r.velAction)
			}
		}
	}
	m.riskAlerts += len(acts)
	if len(acts) == 0 || r.dryRun {
		return
	}
	switch {
	case slices.Contains(acts, risk.ActionSuspendAgent):
		if c.agent.status == model.AgentActive {
			m.setAgentStatus(c.agent, model.AgentSuspended)
		}
	case slices.Contains(acts, risk.ActionFreezeCard):
		if c.status == model.CardActive {
			m.setStatus(c, model.CardFrozen)
		}
	}
}

// partial is "Partial approval": a purchase whose terminal takes one,
// declined only for its amount (51 or 61), is decided again for what is
// left, and approved for that if every rule passes. It returns the new
// decision and the message with the approved amount.
func (m *refModel) partial(c *mCard, x *msg, kind authz.Kind, d decision) (decision, *msg, bool) {
	if !x.partialOK || kind != authz.Purchase || x.mti == "0120" ||
		(d.code != authz.CodeInsufficientFunds && d.code != authz.CodeAmountLimit) {
		return d, x, false
	}
	left := min(x.amount, c.user.available())
	for _, l := range []*int64{c.maxAmount, c.perAuth} {
		if l != nil {
			left = min(left, *l)
		}
	}
	if c.perDay != nil {
		left = min(left, *c.perDay-m.cardDaySpend(c))
	}
	if c.perMonth != nil {
		left = min(left, *c.perMonth-m.cardMonthSpend(c))
	}
	if p := c.policyOf(); p != nil && p.cumulativeMax != nil {
		left = min(left, *p.cumulativeMax-c.total())
	}
	if a := c.agent; a.limit != nil && a.onLimit != model.OnLimitNotify {
		left = min(left, *a.limit-m.agentSpend(a))
	}
	if left <= 0 || left >= x.amount {
		return d, x, false
	}
	y := *x
	y.amount = left
	if d2 := m.decide(c, &y, kind); d2.code == authz.CodeApproved {
		return d2, &y, true
	}
	return d, x, false
}

// amend is an 0100 with DE 90 (an incremental authorization: every rule
// checked for DE 4, what counts authorizations excepted, then the
// authorization grows by it) or an 0120 with DE 90 (an advice: its amount
// becomes DE 4). The original must be an open authorization of the card,
// or it is 25. A decline changes nothing and is not remembered.
func (m *refModel) amend(c *mCard, x *msg, f fingerprint) expect {
	if e, seen := m.replay(x, f); seen {
		return e
	}
	o := c.orig()["s"+x.de90[4:10]+"|"+x.de90[10:20]]
	if o == nil || o.status != model.TxnAuthorized || o.kind != model.KindPurchase {
		return expect{code: authz.CodeNoOriginal}
	}
	var delta int64
	if x.mti == "0120" {
		switch {
		case x.currency != "840":
			return expect{code: authz.CodeNotPermitted}
		case x.amount <= 0:
			return expect{code: authz.CodeInvalidAmount}
		}
		delta = x.amount - o.amount
		if delta > 0 {
			o.standIn = true
		}
	} else {
		// Nor the cooldown after the last purchase, nor a policy's count.
		counted := *c
		counted.used, counted.maxAuthCount, counted.lastAuthMs = false, nil, 0
		if p := c.policyOf(); p != nil {
			np := *p
			np.maxAuthCount = nil
			counted.policy = &np
		}
		if d := m.decide(&counted, x, authz.Purchase); d.code != authz.CodeApproved {
			return expect{code: d.code}
		}
		delta = x.amount
	}
	o.amount += delta
	o.authorized += delta
	o.hold += delta
	if o.requested != 0 {
		o.requested += delta
	}
	c.user.pending += delta
	m.count(c, o.authAtMs, delta)
	m.touch(o)
	m.remember(x, f, authz.CodeApproved, "", o)
	return expect{code: authz.CodeApproved, txn: o}
}

func (m *refModel) approvePurchase(c *mCard, t *mTxn, x *msg) {
	amt := x.amount
	c.authCount++
	c.lastAuthMs = m.nowMs
	m.count(c, m.nowMs, amt)
	if c.single {
		c.used = true
	} else if nameKey(c.hint) == "" && c.locked == "" {
		c.locked = lockOf(x)
	}
	switch {
	case c.lastAccessMs == 0:
		t.attestation = model.Unattested
	case m.nowMs-c.lastAccessMs <= c.attestMin*minuteMs:
		t.attestation = model.Attested
	default:
		t.attestation = model.Stale
	}
	t.authAtMs = m.nowMs
	m.resolveIntent(c, t, x)
	if x.mti == "0200" {
		t.status = model.TxnCompleted
		c.user.settled -= amt
		if c.single {
			m.setStatus(c, model.CardClosed)
		}
	} else {
		t.status, t.hold = model.TxnAuthorized, amt
		c.user.pending += amt
		t.holdExpiresMs = m.nowMs + m.holdExpiryMs
		if m.autoSettleMs > 0 {
			t.autoSettleMs = m.nowMs + m.autoSettleMs
		}
	}
	t.isOriginal = true
	m.origSTAN[x.stan+"|"+x.de7] = t
	c.orig()["s"+x.stan+"|"+x.de7] = t
}

func (c *mCard) orig() map[string]*mTxn {
	if c.origs == nil {
		c.origs = map[string]*mTxn{}
	}
	return c.origs
}

// resolveIntent: the oldest unexpired pending intent of the card that
// matches on amount and merchant becomes matched; failing that, the best
// candidate (most criteria, then nearest amount, then oldest) becomes
// mismatched.
func (m *refModel) resolveIntent(c *mCard, t *mTxn, x *msg) {
	var best *mIntent
	var bestScore int
	var bestDiff int64
	var bestA, bestM bool
	for _, it := range m.intents {
		if it.card != c || it.status != model.IntentPending || it.expiresMs <= m.nowMs {
			continue
		}
		aOK, diff := true, int64(0)
		if it.expAmount != nil {
			diff = x.amount - *it.expAmount
			if diff < 0 {
				diff = -diff
			}
			aOK = diff <= max(it.tolerance, 0)
		}
		mOK := strings.TrimSpace(it.merchant) == "" || matcher.MerchantMatches(it.merchant, x.merchant)
		if aOK && mOK {
			best, bestA, bestM = it, true, true
			break
		}
		score := 0
		if aOK {
			score++
		}
		if mOK {
			score++
		}
		if best == nil || score > bestScore || (score == bestScore && diff < bestDiff) {
			best, bestScore, bestDiff, bestA, bestM = it, score, diff, aOK, mOK
		}
	}
	if best == nil {
		return
	}
	best.status = model.IntentMismatched
	if bestA && bestM {
		best.status = model.IntentMatched
	}
	best.txn, best.amountMatch, best.merchantMatch = t, bestA, bestM
	t.intent = best
	m.touchIntent(best)
}

// ---- clearings and reversals ----

// original finds the approved purchase a clearing or reversal names: by
// DE 90 (STAN + DE 7), then by DE 37 + DE 38; the API path names it by ID.
func (m *refModel) original(x *msg) *mTxn {
	if x.viaTxn != nil {
		return x.viaTxn
	}
	// With DE 2, that card's purchases; without, all cards' (the latest
	// purchase with the references wins).
	byKey := func(k string) *mTxn {
		if x.pan != "" {
			c := m.byPAN[x.pan]
			if c == nil {
				return nil
			}
			return c.orig()[k]
		}
		if k[0] == 's' {
			return m.origSTAN[k[1:]]
		}
		return m.origRRN[k[1:]]
	}
	if len(x.de90) >= 20 {
		if o := byKey("s" + x.de90[4:10] + "|" + x.de90[10:20]); o != nil {
			return o
		}
	}
	if x.rrn != "" && x.authCode != "" {
		return byKey("r" + x.rrn + "|" + x.authCode)
	}
	return nil
}

// followUpCard is the card a follow-up names (nil without DE 2), and false
// when DE 2 is not a known PAN.
func (m *refModel) followUpCard(x *msg) (*mCard, bool) {
	if x.viaTxn != nil || x.pan == "" {
		return nil, true
	}
	c := m.byPAN[x.pan]
	return c, c != nil
}

// clear is an 0220 (docs: "Clearing (0220)").
func (m *refModel) clear(x *msg) expect {
	c, known := m.followUpCard(x)
	if !known {
		return expect{code: authz.CodeInvalidCard}
	}
	o := m.original(x)
	if x.viaTxn == nil && x.pan == "" && o == nil {
		return expect{code: authz.CodeNoOriginal}
	}
	pathCard := c
	if x.viaTxn != nil {
		pathCard = o.card
	}
	f := fingerprint{class: x.class(), card: pathCard, kind: authz.Purchase, amount: x.amount, currency: x.currency, merchant: x.merchantID, terminal: x.terminal}
	if e, seen := m.replay(x, f); seen {
		return e
	}
	if x.currency != "" && x.currency != "840" {
		return expect{code: authz.CodeNotPermitted}
	}
	if o == nil || (c != nil && o.card != c) {
		// Force post: a completed purchase of DE 4 without an original.
		t := &mTxn{card: c, kind: model.KindPurchase, status: model.TxnCompleted, amount: x.amount, code: authz.CodeApproved, forcePost: true}
		c.user.settled -= x.amount
		m.addTxn(t)
		rec := m.remember(x, f, authz.CodeApproved, "", t)
		return expect{code: authz.CodeApproved, newTxn: t, newRec: rec}
	}
	switch o.status {
	case model.TxnCompleted:
		return expect{code: authz.CodeApproved, txn: o}
	case model.TxnAuthorized:
	default:
		return expect{code: authz.CodeInvalidTxn}
	}
	if x.amount > o.amount+o.amount*m.overCapturePct/100 {
		return expect{code: authz.CodeInvalidAmount}
	}
	oc := o.card
	m.count(oc, o.authAtMs, x.amount-o.amount)
	oc.user.pending -= o.hold
	oc.user.settled -= x.amount
	o.amount, o.hold, o.status = x.amount, 0, model.TxnCompleted
	if oc.single && oc.status != model.CardClosed {
		m.setStatus(oc, model.CardClosed)
	}
	m.touch(o)
	m.remember(x, f, authz.CodeApproved, "", o)
	return expect{code: authz.CodeApproved, txn: o}
}

// reverse is an 0400, 0401, 0420 or 0421 (docs: "Reversals").
func (m *refModel) reverse(x *msg) expect {
	c, known := m.followUpCard(x)
	if !known {
		return expect{code: authz.CodeInvalidCard}
	}
	o := m.original(x)
	if x.viaTxn == nil && x.pan == "" && o == nil {
		return expect{code: authz.CodeNoOriginal}
	}
	pathCard := c
	if x.viaTxn != nil {
		pathCard = o.card
	}
	f := fingerprint{class: x.class(), card: pathCard, kind: authz.Purchase, amount: x.amount, currency: x.currency, merchant: x.merchantID, terminal: x.terminal, repl: x.repl}
	if e, seen := m.replay(x, f); seen {
		return e
	}
	if x.currency != "" && x.currency != "840" {
		return expect{code: authz.CodeNotPermitted}
	}
	if o == nil || (c != nil && o.card != c) {
		return expect{code: authz.CodeNoOriginal}
	}
	if o.status == model.TxnReversed {
		return expect{code: authz.CodeApproved, txn: o}
	}
	remaining := int64(0)
	if x.hasRepl {
		remaining = x.repl
	}
	if (x.hasRepl && remaining < o.refunded) || remaining > o.amount {
		return expect{code: authz.CodeInvalidAmount}
	}
	if remaining == o.amount {
		return expect{code: authz.CodeApproved, txn: o}
	}
	m.remember(x, f, authz.CodeApproved, "", o)
	m.reverseTo(o, remaining, "reversal")
	return expect{code: authz.CodeApproved, txn: o}
}

// reverseTo reverses o down to remaining (0: in full).
func (m *refModel) reverseTo(o *mTxn, remaining int64, reason string) {
	oc, u := o.card, o.card.user
	released := o.amount - remaining
	wasOpen := o.status == model.TxnAuthorized
	// Spend gives back what is reversed of the purchase, open or completed
	// ("Agent spending limits": reversals give back what they release).
	m.count(oc, o.authAtMs, -released)
	if wasOpen {
		u.pending -= o.hold - remaining
		o.hold = remaining
	} else {
		// Completed: the money comes back too.
		u.settled += released
		if remaining == 0 {
			// What was refunded is already back with the user.
			u.settled -= o.refunded
			released -= o.refunded
		}
	}
	o.amount = remaining
	o.reversed += released
	if remaining == 0 {
		o.status, o.reversalReason = model.TxnReversed, reason
		if oc.single && wasOpen {
			oc.used = false
		}
	}
	m.touch(o)
}

// deliver applies a network message.
func (m *refModel) deliver(x *msg) expect {
	switch x.typ {
	case mClear:
		return m.clear(x)
	case mReverse:
		return m.reverse(x)
	}
	return m.authorize(x)
}

// sweep is what the ledger's Sweep does after the clock moved: holds past
// their expiry are reversed ("expired"), cards past their lifetime are
// closed, intents past their TTL expire.
func (m *refModel) sweep() int {
	n := 0
	for _, t := range m.txns {
		if t.status != model.TxnAuthorized {
			continue
		}
		// Auto-settle or hold expiry, whichever comes first.
		if settles := t.autoSettleMs != 0 && t.autoSettleMs <= t.holdExpiresMs; settles && t.autoSettleMs <= m.nowMs {
			m.settle(t)
			n++
		} else if !settles && t.holdExpiresMs <= m.nowMs {
			m.reverseTo(t, 0, "expired")
			n++
		}
	}
	// A card whose ttlDays or expiry month ended is closed, once.
	for _, c := range m.cards {
		if c.status != model.CardClosed && c.expiredMs == 0 && m.expired(c) {
			m.setStatus(c, model.CardClosed)
			c.frozenBySuspension = false
			c.expiredMs = m.nowMs
		}
	}
	for _, it := range m.intents {
		if it.status == model.IntentPending && it.expiresMs <= m.nowMs {
			it.status = model.IntentExpired
			m.touchIntent(it)
		}
	}
	return n
}

// settle is auto-settle: the open authorization is completed for its
// amount, as a clearing of that amount would.
func (m *refModel) settle(t *mTxn) {
	tally.add("auto-settle")
	c := t.card
	c.user.pending -= t.hold
	c.user.settled -= t.amount
	t.hold, t.status = 0, model.TxnCompleted
	if c.single && c.status != model.CardClosed {
		m.setStatus(c, model.CardClosed)
	}
	m.touch(t)
}

// ---- API operations ----

// refund is Ledger.Refund (POST /v1/simulate/refund).
func (m *refModel) refund(o *mTxn, amount int64) expect {
	if o.kind != model.KindPurchase || o.status != model.TxnCompleted {
		return expect{errCode: "transaction_not_refundable"}
	}
	if amount <= 0 || amount > o.amount-o.refunded {
		return expect{errCode: "parameter_invalid"}
	}
	o.card.user.settled += amount
	o.refunded += amount
	m.touch(o)
	t := &mTxn{card: o.card, kind: model.KindRefund, status: model.TxnCompleted, amount: amount, authorized: amount,
		code: authz.CodeApproved, original: o}
	m.addTxn(t)
	return expect{code: authz.CodeApproved, newTxn: t}
}

func (m *refModel) setStatus(c *mCard, status string) {
	c.status, c.recordUsed = status, c.used
}

func (m *refModel) deposit(u *mUser, cents int64) {
	u.deposited += cents
	u.settled += cents
}

// dispute is CreateDispute: a completed purchase with something left
// unrefunded, once.
func (m *refModel) dispute(t *mTxn) (expect, *mDispute) {
	if t.kind != model.KindPurchase || t.status != model.TxnCompleted {
		return expect{errCode: "transaction_not_disputable"}, nil
	}
	for _, d := range m.disputes {
		if d.txn == t {
			return expect{errCode: "dispute_exists"}, nil
		}
	}
	if t.amount-t.refunded <= 0 {
		return expect{errCode: "transaction_not_disputable"}, nil
	}
	d := &mDispute{txn: t, status: model.DisputePending, amount: t.amount - t.refunded}
	m.disputes = append(m.disputes, d)
	return expect{}, d
}

// resolveDispute is ResolveDispute: won credits what the dispute covers, at
// most what the purchase still has unrefunded (nothing once reversed), as
// a refund of it; lost moves nothing.
func (m *refModel) resolveDispute(d *mDispute, outcome string) expect {
	if d.status != model.DisputePending {
		return expect{errCode: "dispute_resolved"}
	}
	if outcome == model.DisputeLost {
		d.status = model.DisputeRejected
		return expect{}
	}
	d.status = model.DisputeAccepted
	o := d.txn
	if o.status != model.TxnCompleted {
		return expect{}
	}
	credit := min(d.amount, o.amount-o.refunded)
	if credit <= 0 {
		return expect{}
	}
	o.card.user.settled += credit
	o.refunded += credit
	m.touch(o)
	t := &mTxn{card: o.card, kind: model.KindRefund, status: model.TxnCompleted, amount: credit, authorized: credit,
		code: authz.CodeApproved, original: o}
	m.addTxn(t)
	d.credit = t
	return expect{newTxn: t}
}

// withdraw is CreateWithdrawal: at most what is available, taken from the
// deposits and the settled balance alike.
func (m *refModel) withdraw(u *mUser, cents int64) expect {
	if !u.approved() {
		return expect{errCode: "user_not_verified"}
	}
	if cents > u.available() {
		return expect{errCode: "insufficient_funds"}
	}
	u.deposited -= cents
	u.settled -= cents
	return expect{}
}

// kyc is SetKYCStatus between the statuses the generator uses: approved
// goes to needsVerification or locked; locked to approved or
// needsVerification; the others short of a decision anywhere; the same
// status changes nothing.
func (m *refModel) kyc(u *mUser, to string) expect {
	from := u.app
	if from == "" {
		from = model.AppApproved
	}
	switch {
	case from == to:
	case from == model.AppApproved && to != model.AppNeedsVerification && to != model.AppLocked:
		return expect{errCode: "kyc_already_decided"}
	case from == model.AppLocked && to != model.AppApproved && to != model.AppNeedsVerification:
		return expect{errCode: "kyc_transition_invalid"}
	}
	u.app = to
	return expect{}
}

func (m *refModel) setAgentStatus(a *mAgent, status string) {
	a.status = status
	for _, c := range m.cards {
		if c.agent != a {
			continue
		}
		switch {
		case status == model.AgentSuspended && c.status == model.CardActive:
			m.setStatus(c, model.CardFrozen)
			c.frozenBySuspension = true
		case status == model.AgentActive && c.status == model.CardFrozen && c.frozenBySuspension:
			m.setStatus(c, model.CardActive)
			c.frozenBySuspension = false
		}
	}
}

// reactivate is SetAgentStatus(active).
func (m *refModel) reactivate(a *mAgent) expect {
	switch a.status {
	case model.AgentDeregistered:
		return expect{errCode: "agent_deregistered"}
	case model.AgentSuspended:
		m.setAgentStatus(a, model.AgentActive)
	}
	return expect{}
}

// deregister is Deregister: the agent is retired and its cards closed.
func (m *refModel) deregister(a *mAgent) expect {
	if a.status == model.AgentDeregistered {
		return expect{}
	}
	a.status = model.AgentDeregistered
	for _, c := range m.cards {
		if c.agent == a && c.status != model.CardClosed {
			m.setStatus(c, model.CardClosed)
		}
	}
	return expect{}
}

// transition is FreezeCard / UnfreezeCard.
func (m *refModel) transition(c *mCard, to string) expect {
	switch {
	case c.status == model.CardClosed:
		return expect{errCode: "card_already_closed"}
	case c.status == to && to == model.CardFrozen:
		return expect{errCode: "card_already_frozen"}
	case c.status == to:
		return expect{errCode: "card_not_frozen"}
	case to == model.CardActive && c.agent.status != model.AgentActive:
		return expect{errCode: "agent_not_active"}
	case to == model.CardActive && c.status != model.CardFrozen:
		return expect{errCode: "card_not_frozen"}
	}
	if to == model.CardActive && c.awaiting {
		to = model.CardNotActivated
	}
	m.setStatus(c, to)
	c.frozenBySuspension = false
	return expect{}
}

// activate is ActivateCard: a notActivated card becomes active.
func (m *refModel) activate(c *mCard) expect {
	switch {
	case c.status == model.CardClosed:
		return expect{errCode: "card_already_closed"}
	case c.status == model.CardFrozen && c.awaiting:
		return expect{errCode: "card_frozen"}
	case c.status != model.CardNotActivated:
		return expect{errCode: "card_already_activated"}
	case c.agent.status != model.AgentActive:
		return expect{errCode: "agent_not_active"}
	}
	m.setStatus(c, model.CardActive)
	c.awaiting = false
	return expect{}
}

// issue is CreateCard: the card's expiry is the end of the month its
// lifetime (ttlDays, at most 3 years) ends in.
func (m *refModel) issue(c *mCard) expect {
	if c.agent.status != model.AgentActive {
		return expect{errCode: "agent_not_active"}
	}
	if !c.user.approved() {
		return expect{errCode: "user_not_verified"}
	}
	life := 3 * 365 * dayMs
	if c.ttlDays != nil && *c.ttlDays*dayMs < life {
		life = *c.ttlDays * dayMs
	}
	exp := time.UnixMilli(m.nowMs + life).UTC()
	c.expYear, c.expMonth = fmt.Sprintf("%04d", exp.Year()), fmt.Sprintf("%02d", int(exp.Month()))
	c.status, c.createdMs = model.CardActive, m.nowMs
	if c.notActivated {
		c.status, c.awaiting = model.CardNotActivated, true
	}
	c.name = fmt.Sprintf("C%d", len(m.cards)+1)
	m.cards = append(m.cards, c)
	return expect{}
}

// createIntent is CreateIntent: idempotent by the card's client intentId
// when the declaration is the same, a conflict when it is not.
func (m *refModel) createIntent(it *mIntent) expect {
	for _, old := range m.intents {
		if old.card == it.card && old.clientID == it.clientID {
			sameAmount := (old.expAmount == nil) == (it.expAmount == nil) && (old.expAmount == nil || *old.expAmount == *it.expAmount)
			if !sameAmount || old.tolerance != it.tolerance || old.merchant != it.merchant || old.ttlMinutes() != it.ttlMinutes() {
				return expect{errCode: "intent_id_reused"}
			}
			return expect{intent: old}
		}
	}
	if it.card.status == model.CardClosed {
		return expect{errCode: "card_already_closed"}
	}
	it.status, it.createdMs = model.IntentPending, m.nowMs
	it.expiresMs = m.nowMs + it.ttlMinutes()*minuteMs
	it.name = fmt.Sprintf("I%d", len(m.intents)+1)
	m.intents = append(m.intents, it)
	m.touchIntent(it)
	return expect{newIntent: it}
}

func (m *refModel) cancelIntent(it *mIntent) expect {
	if it.status != model.IntentPending {
		return expect{errCode: "intent_not_pending"}
	}
	it.status = model.IntentCanceled
	m.touchIntent(it)
	return expect{intent: it}
}

// readDetails is ReadDetails: active and notActivated cards only, not for exposure never,
// at most 10 reads an hour, and a multi-use card needs a pending intent;
// the newest unexpired one is tied to the read and then waits 24 hours.
func (m *refModel) readDetails(c *mCard) expect {
	if c.status != model.CardActive && c.status != model.CardNotActivated {
		return expect{errCode: "card_not_active"}
	}
	if c.exposure == model.ExposureNever {
		return expect{errCode: "credentials_not_exposed"}
	}
	var recent []int64
	for _, at := range c.accesses {
		if at > m.nowMs-hourMs {
			recent = append(recent, at)
		}
	}
	if len(recent) >= ledger.MaxAccessesPerHour {
		return expect{errCode: "credential_access_limit"}
	}
	var chosen *mIntent
	for _, it := range m.intents {
		if it.card == c && it.status == model.IntentPending && it.expiresMs > m.nowMs {
			chosen = it
		}
	}
	if chosen == nil && !c.single {
		return expect{errCode: "intent_required"}
	}
	c.lastAccessMs = m.nowMs
	c.accesses = append(recent, m.nowMs)
	if chosen != nil {
		chosen.expiresMs = m.nowMs + ledger.DetailsIntentWait.Milliseconds()
		chosen.accessedMs = m.nowMs
		m.touchIntent(chosen)
	}
	return expect{intent: chosen}
}
