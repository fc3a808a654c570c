package faults

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/model"
)

// Actions a rule can take.
const (
	ActionDelay           = "delay"           // the reply leaves DelayMs after the request arrived
	ActionNoReply         = "noReply"         // no reply is sent
	ActionDuplicateReply  = "duplicateReply"  // the reply is sent twice
	ActionCloseConnection = "closeConnection" // the connection is closed instead of replying
	ActionRespond         = "respond"         // declined with ResponseCode instead of being decided
)

// Actions returns every action, so a metric can have all its label values
// from the start and a document can list them.
func Actions() []string {
	return []string{ActionDelay, ActionNoReply, ActionDuplicateReply, ActionCloseConnection, ActionRespond}
}

// MTIs a rule may name: the requests the listener hands to its handler.
// Network management (0800) and requests the listener answers by itself
// (format errors, unsupported MTIs) are never subject to faults.
func MTIs() []string {
	return []string{"0100", "0101", "0120", "0200", "0220", "0400", "0401", "0420", "0421"}
}

// Bounds of a rule's fields.
const (
	MaxDelayMs     = 10 * 60 * 1000 // ten minutes
	MaxAmountCents = 999_999_999_999
	MaxRules       = 1000
)

// ReasonFaultInjected is the decline reason of a request a respond rule
// declined.
const ReasonFaultInjected = "fault_injected"

// Spec is a rule as a client states it. Pointers tell an absent field from
// a zero one.
type Spec struct {
	CardID       string `json:"cardId,omitempty"`
	Last4        string `json:"last4,omitempty"`
	MTI          string `json:"mti,omitempty"`
	AmountMin    *int64 `json:"amountMin,omitempty"`
	AmountMax    *int64 `json:"amountMax,omitempty"`
	Action       string `json:"action"`
	DelayMs      *int64 `json:"delayMs,omitempty"`
	ResponseCode string `json:"responseCode,omitempty"`
	Percent      *int64 `json:"percent,omitempty"`
	Count        *int64 `json:"count,omitempty"`
}

// InputError is a rule that cannot be accepted; Param names the field.
type InputError struct {
	Param   string
	Message string
}

func (e *InputError) Error() string { return e.Param + ": " + e.Message }

func invalid(param, format string, args ...any) error {
	return &InputError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// Validate checks a rule: a known action with the fields it needs and no
// field it does not take, a delay within bounds, a response code that is
// not an approval, a percentage in 0-100, a positive count, and criteria
// that can match.
func (s *Spec) Validate() error {
	switch s.Action {
	case "":
		return invalid("action", "is required: one of %s", strings.Join(Actions(), ", "))
	case ActionDelay, ActionNoReply, ActionDuplicateReply, ActionCloseConnection, ActionRespond:
	default:
		return invalid("action", "must be one of %s", strings.Join(Actions(), ", "))
	}
	if s.CardID != "" && (!strings.HasPrefix(s.CardID, model.PrefixCard+"_") || !model.WellFormedID(s.CardID)) {
		return invalid("cardId", "must be a card ID (card_...)")
	}
	if s.Last4 != "" && !digits(s.Last4, 4) {
		return invalid("last4", "must be 4 digits")
	}
	if s.MTI != "" && !oneOf(s.MTI, MTIs()) {
		return invalid("mti", "must be one of %s", strings.Join(MTIs(), ", "))
	}
	if s.AmountMin != nil && (*s.AmountMin < 0 || *s.AmountMin > MaxAmountCents) {
		return invalid("amountMin", "must be between 0 and %d cents", int64(MaxAmountCents))
	}
	if s.AmountMax != nil && (*s.AmountMax < 0 || *s.AmountMax > MaxAmountCents) {
		return invalid("amountMax", "must be between 0 and %d cents", int64(MaxAmountCents))
	}
	if s.AmountMin != nil && s.AmountMax != nil && *s.AmountMin > *s.AmountMax {
		return invalid("amountMax", "must not be below amountMin")
	}
	switch {
	case s.Action == ActionDelay && s.DelayMs == nil:
		return invalid("delayMs", "is required with action delay")
	case s.Action != ActionDelay && s.DelayMs != nil:
		return invalid("delayMs", "applies only to action delay")
	case s.DelayMs != nil && (*s.DelayMs < 1 || *s.DelayMs > MaxDelayMs):
		return invalid("delayMs", "must be between 1 and %d milliseconds", MaxDelayMs)
	}
	switch {
	case s.Action == ActionRespond && s.ResponseCode == "":
		return invalid("responseCode", "is required with action respond")
	case s.Action != ActionRespond && s.ResponseCode != "":
		return invalid("responseCode", "applies only to action respond")
	case s.ResponseCode != "" && !code(s.ResponseCode):
		return invalid("responseCode", "must be two digits or upper-case letters")
	case s.ResponseCode == "00" || s.ResponseCode == "10":
		return invalid("responseCode", "must be a decline: 00 and 10 approve")
	}
	if s.Percent != nil && (*s.Percent < 0 || *s.Percent > 100) {
		return invalid("percent", "must be between 0 and 100")
	}
	if s.Count != nil && *s.Count < 1 {
		return invalid("count", "must be at least 1")
	}
	return nil
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func code(s string) bool {
	if len(s) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// Rule is a rule in force, as List and Add report it: a copy.
type Rule struct {
	ID string
	Spec
	// Percent is the percentage in force (Spec.Percent, or 100).
	Percent int64
	// Matched counts the requests the rule was applied to.
	Matched int64
	// CreatedAt is when the rule was added, in epoch milliseconds.
	CreatedAt int64
}

// Exhausted reports whether the rule has been applied Count times.
func (r *Rule) Exhausted() bool { return r.Count != nil && r.Matched >= *r.Count }

// Request is what a rule is matched against. CardID may be empty when no
// rule names a card (see Set.NeedsCardID) or the PAN is not one of a card.
type Request struct {
	CardID      string
	Last4       string
	MTI         string
	AmountCents int64
	HasAmount   bool
}

// Fault is what a rule does to one request.
type Fault struct {
	RuleID       string
	Action       string
	Delay        time.Duration // ActionDelay
	ResponseCode string        // ActionRespond
}

// rule is a rule and its counters, guarded by Set.mu.
type rule struct {
	Rule
	seen int64 // requests matched while the rule had count left, picked or not
}

func (r *rule) matches(q *Request) bool {
	switch {
	case r.CardID != "" && r.CardID != q.CardID,
		r.Last4 != "" && r.Last4 != q.Last4,
		r.MTI != "" && r.MTI != q.MTI,
		(r.AmountMin != nil || r.AmountMax != nil) && !q.HasAmount,
		r.AmountMin != nil && q.AmountCents < *r.AmountMin,
		r.AmountMax != nil && q.AmountCents > *r.AmountMax:
		return false
	}
	return true
}

// pick counts a matching request and reports whether the percentage picks
// it: the n-th is picked when ceil(n*p/100) steps up.
func (r *rule) pick() bool {
	r.seen++
	n, p := r.seen, r.Percent
	return (n*p+99)/100 > ((n-1)*p+99)/100
}

// Config configures a Set.
type Config struct {
	// Registerer receives the injected-faults counter. Default none.
	Registerer prometheus.Registerer
	// Clock stamps CreatedAt. Default the wall clock.
	Clock clock.Clock
}

// Set is the rules in force.
type Set struct {
	clock    clock.Clock
	ids      model.IDGen
	injected *prometheus.CounterVec

	mu    sync.Mutex
	rules []*rule
	// n and needCard mirror rules for the request path, read without the
	// mutex: the count of rules, and whether any names a card.
	n        atomic.Int32
	needCard atomic.Bool
}

// New returns an empty Set.
func New(cfg Config) (*Set, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	s := &Set{clock: cfg.Clock, injected: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ledgersim_faults_injected_total",
		Help: "Faults injected into ISO 8583 replies by fault-injection rules, by action.",
	}, []string{"action"})}
	for _, a := range Actions() {
		s.injected.WithLabelValues(a)
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(s.injected); err != nil {
			return nil, fmt.Errorf("faults: register metric: %w", err)
		}
	}
	return s, nil
}

// ErrTooMany is returned by Add when MaxRules rules are in force.
var ErrTooMany = errors.New("faults: too many rules")

// Add validates a rule and puts it in force after the others. before, when
// not nil, is given the rule (its ID and CreatedAt set) before it is in
// force, without the Set's lock held; if before fails, nothing is added.
// It is where a caller records what it will answer (an Idempotency-Key's
// response). MaxRules is checked before; rules added concurrently at the
// bound may pass it by as many.
func (s *Set) Add(spec Spec, before func(Rule) error) (Rule, error) {
	if err := spec.Validate(); err != nil {
		return Rule{}, err
	}
	r := &rule{Rule: Rule{Spec: spec.clone(), Percent: 100}}
	if spec.Percent != nil {
		r.Percent = *spec.Percent
	}
	s.mu.Lock()
	full := len(s.rules) >= MaxRules
	s.mu.Unlock()
	if full {
		return Rule{}, ErrTooMany
	}
	now := s.clock.Now()
	r.ID, r.CreatedAt = s.ids.New(model.PrefixFault, now), now.UnixMilli()
	if before != nil {
		if err := before(r.copy()); err != nil {
			return Rule{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, r)
	s.changed()
	return r.copy(), nil
}

// copy returns the rule with its pointers copied, so a caller cannot
// change the rule in force.
func (r *rule) copy() Rule {
	c := r.Rule
	c.Spec = c.Spec.clone()
	return c
}

func (s Spec) clone() Spec {
	s.AmountMin, s.AmountMax, s.DelayMs, s.Percent, s.Count = cp(s.AmountMin), cp(s.AmountMax), cp(s.DelayMs), cp(s.Percent), cp(s.Count)
	return s
}

func cp(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// changed refreshes the mirrors the request path reads. Called with mu held.
func (s *Set) changed() {
	need := false
	for _, r := range s.rules {
		need = need || r.CardID != ""
	}
	s.needCard.Store(need)
	s.n.Store(int32(len(s.rules)))
}

// Delete removes a rule; it reports whether there was one with that ID.
func (s *Set) Delete(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.rules {
		if r.ID == id {
			s.rules = append(s.rules[:i:i], s.rules[i+1:]...)
			s.changed()
			return true
		}
	}
	return false
}

// Get returns a rule by ID.
func (s *Set) Get(id string) (Rule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rules {
		if r.ID == id {
			return r.copy(), true
		}
	}
	return Rule{}, false
}

// List returns the rules in force, in the order they are tried.
func (s *Set) List() []Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Rule, 0, len(s.rules))
	for _, r := range s.rules {
		out = append(out, r.copy())
	}
	return out
}

// Active reports whether any rule is in force: while none is, the request
// path skips matching altogether.
func (s *Set) Active() bool { return s != nil && s.n.Load() > 0 }

// NeedsCardID reports whether some rule names a card, so that the caller
// resolves the request's card only then.
func (s *Set) NeedsCardID() bool { return s.needCard.Load() }

// Match returns the fault of the first rule that applies to q, and counts
// it (the rule's Matched and the injected-faults counter).
func (s *Set) Match(q *Request) (Fault, bool) {
	if !s.Active() {
		return Fault{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rules {
		if r.Exhausted() || !r.matches(q) || !r.pick() {
			continue
		}
		r.Matched++
		s.injected.WithLabelValues(r.Action).Inc()
		f := Fault{RuleID: r.ID, Action: r.Action, ResponseCode: r.ResponseCode}
		if r.DelayMs != nil {
			f.Delay = time.Duration(*r.DelayMs) * time.Millisecond
		}
		return f, true
	}
	return Fault{}, false
}

// Parse reads rules as the --faults file holds them: a JSON array of rule
// objects, the same objects POST /v1/simulate/faults takes. A field the
// rule does not know, a value of the wrong type or a rule Validate refuses
// is an error that names the rule (from 0) and the field.
func Parse(raw []byte) ([]Spec, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("faults: not a JSON array of rule objects: %w", err)
	}
	if len(items) > MaxRules {
		return nil, fmt.Errorf("faults: %d rules; at most %d", len(items), MaxRules)
	}
	out := make([]Spec, 0, len(items))
	for i, item := range items {
		var s Spec
		dec := json.NewDecoder(bytes.NewReader(item))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("faults: rule %d: %w", i, err)
		}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("faults: rule %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}
