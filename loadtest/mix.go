package loadtest

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is what one generated message is.
type Kind uint8

// Message kinds. A mix names thirteen shares; "decline" is split evenly between
// the two deliberate declines (the odd unit, if any, goes to the expiry one).
const (
	KindAuth           Kind = iota // 0100 purchase, processing code 000000, expects 00
	KindIntent                     // 0100 purchase on a card with a declared intent, at its merchant, expects 00
	KindRefund                     // 0100 credit, processing code 200000, expects 00
	KindRepeat                     // 0101 repeat of an answered 0100, same STAN, RRN and content; expects the original's code
	KindClear                      // 0220 capture of an approval (DE 2 + DE 37 + DE 38 of the original), expects 00
	KindReversal                   // 0400 reversal of an approval, a third of them partial with DE 95; expects 00
	KindDeclineExpiry              // 0100 with a DE 14 that is not the card's, expects 54
	KindDeclineLimit               // 0100 above the card's maxAmount, expects 61
	KindPartial                    // 0100 purchase whose DE 48 says the terminal takes a partial approval (sub-element 61); expects 00 or 10
	KindIncrement                  // 0100 purchase with DE 90 naming an earlier approval: an incremental authorization; expects 00
	KindAdvice                     // 0120 stand-in advice, expects 00
	KindFinancial                  // 0200 single-message purchase, expects 00
	KindReversalAdvice             // 0420 reversal advice of an approval, expects 00
	KindEcho                       // 0800 echo test (DE 70 301), expects 00
	// KindTimeoutReversal is not drawn from the mix: it is the 0400 an
	// acquirer sends for an 0100 or 0200 that timed out, naming it by
	// DE 90 (it has no approval code to quote). Expects 00.
	KindTimeoutReversal
	numKinds
)

var kindNames = [numKinds]string{"auth", "intent", "refund", "repeat", "clear", "reversal", "decline_expiry", "decline_limit",
	"partial", "increment", "advice", "financial", "reversal_advice", "echo", "timeout_reversal"}

// String returns the kind's name as used in results.
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// expectedCode is the DE 39 a correct server answers to a kind; "" means
// "the same as the original" (repeats). Two kinds accept either of two
// codes.
func (k Kind) expectedCode() string {
	switch k {
	case KindRepeat:
		return ""
	case KindDeclineExpiry:
		return "54"
	case KindDeclineLimit:
		return "61"
	case KindPartial:
		return "00 or 10"
	case KindTimeoutReversal:
		// The acquirer does not know what became of the original: a
		// declined one leaves nothing to reverse.
		return "00 or 25"
	default:
		return "00"
	}
}

// reversible reports whether an acquirer reverses a request of the kind
// that went unanswered: a purchase, refund or single-message purchase,
// which may have moved money. A repeat resends an 0100 (its original is
// what is reversed), an advice or a follow-up is repeated rather than
// reversed, and an echo changes nothing.
func (k Kind) reversible() bool {
	switch k {
	case KindAuth, KindIntent, KindRefund, KindDeclineExpiry, KindDeclineLimit, KindPartial, KindIncrement, KindFinancial:
		return true
	}
	return false
}

// Mix is the share of each message kind, in percent. The shares must add up
// to exactly 100: ParseMix and Config validation reject any other sum rather
// than rescale it, because a mix that adds up to 90 or 110 is almost always a
// typo, and silently normalizing it would run a different test than the one
// written down.
type Mix struct {
	Auth     int `json:"auth"`
	Clear    int `json:"clear"`
	Reversal int `json:"reversal"`
	Refund   int `json:"refund"`
	Repeat   int `json:"repeat"`
	Decline  int `json:"decline"`
	Intent   int `json:"intent"`
	// The acquirer's other messages (see AcquirerMix).
	Partial        int `json:"partial"`
	Increment      int `json:"increment"`
	Advice         int `json:"advice"`
	Financial      int `json:"financial"`
	ReversalAdvice int `json:"reversalAdvice"`
	Echo           int `json:"echo"`
}

// DefaultMix is the mix used when Config.Mix is the zero value. It is the
// mix every figure in BENCHMARKS.md was measured with, so it keeps to the
// messages every host compared there answers.
var DefaultMix = Mix{Auth: 70, Clear: 10, Reversal: 5, Refund: 3, Repeat: 5, Decline: 5, Intent: 2}

// AcquirerMix is an acquirer's whole repertoire: besides DefaultMix's
// messages, partial-approval purchases, incremental authorizations,
// stand-in advices (0120), single-message purchases (0200), reversal
// advices (0420) and echo tests (0800). ParseMix reads it as "acquirer".
var AcquirerMix = Mix{Auth: 55, Clear: 10, Reversal: 5, Refund: 3, Repeat: 4, Decline: 4, Intent: 2,
	Partial: 4, Increment: 3, Advice: 3, Financial: 4, ReversalAdvice: 2, Echo: 1}

// mixNames lists the share names in the order String writes them.
var mixNames = [...]string{"auth", "clear", "reversal", "refund", "repeat", "decline", "intent",
	"partial", "increment", "advice", "financial", "reversalAdvice", "echo"}

func (m *Mix) share(name string) *int {
	switch name {
	case "auth":
		return &m.Auth
	case "clear":
		return &m.Clear
	case "reversal":
		return &m.Reversal
	case "refund":
		return &m.Refund
	case "repeat":
		return &m.Repeat
	case "decline":
		return &m.Decline
	case "intent":
		return &m.Intent
	case "partial":
		return &m.Partial
	case "increment":
		return &m.Increment
	case "advice":
		return &m.Advice
	case "financial":
		return &m.Financial
	case "reversalAdvice":
		return &m.ReversalAdvice
	case "echo":
		return &m.Echo
	}
	return nil
}

// ParseMix parses "auth=70,clear=10,reversal=5,refund=3,repeat=5,decline=5,intent=2".
// Names may appear in any order, at most once each; a name left out has a
// share of 0. Shares are whole percentages from 0 to 100 and must add up to
// 100 (see Mix). The empty string is DefaultMix, and "acquirer" is
// AcquirerMix.
func ParseMix(s string) (Mix, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "":
		return DefaultMix, nil
	case "acquirer":
		return AcquirerMix, nil
	}
	var m Mix
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return Mix{}, fmt.Errorf("loadtest: mix: %q is not name=percent", part)
		}
		p := m.share(name)
		if p == nil {
			return Mix{}, fmt.Errorf("loadtest: mix: unknown kind %q (want %s)", name, strings.Join(mixNames[:], ", "))
		}
		if seen[name] {
			return Mix{}, fmt.Errorf("loadtest: mix: %q given twice", name)
		}
		seen[name] = true
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 0 || n > 100 {
			return Mix{}, fmt.Errorf("loadtest: mix: %s=%q must be a whole percentage from 0 to 100", name, val)
		}
		*p = n
	}
	if err := m.validate(); err != nil {
		return Mix{}, err
	}
	return m, nil
}

func (m Mix) sum() int {
	return m.Auth + m.Clear + m.Reversal + m.Refund + m.Repeat + m.Decline + m.Intent +
		m.Partial + m.Increment + m.Advice + m.Financial + m.ReversalAdvice + m.Echo
}

func (m Mix) validate() error {
	for _, name := range mixNames {
		if v := *m.share(name); v < 0 || v > 100 {
			return fmt.Errorf("loadtest: mix: %s=%d must be from 0 to 100", name, v)
		}
	}
	if s := m.sum(); s != 100 {
		return fmt.Errorf("loadtest: mix: shares add up to %d, not 100", s)
	}
	return nil
}

// String writes the mix in the form ParseMix reads: the seven shares of
// DefaultMix always, zeros included, and the acquirer's other shares when
// they are not zero.
func (m Mix) String() string {
	var b strings.Builder
	for i, name := range mixNames {
		v := *m.share(name)
		if i >= 7 && v == 0 {
			continue
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%d", name, v)
	}
	return b.String()
}

// table returns one kind per percent, so that drawing a kind is a single
// random index. Without intent cards the intent share becomes auth.
func (m Mix) table(intents bool) [100]Kind {
	var t [100]Kind
	i := 0
	put := func(k Kind, n int) {
		for ; n > 0; n-- {
			t[i] = k
			i++
		}
	}
	put(KindAuth, m.Auth)
	if intents {
		put(KindIntent, m.Intent)
	} else {
		put(KindAuth, m.Intent)
	}
	put(KindClear, m.Clear)
	put(KindReversal, m.Reversal)
	put(KindRefund, m.Refund)
	put(KindRepeat, m.Repeat)
	put(KindDeclineExpiry, m.Decline-m.Decline/2)
	put(KindDeclineLimit, m.Decline/2)
	put(KindPartial, m.Partial)
	put(KindIncrement, m.Increment)
	put(KindAdvice, m.Advice)
	put(KindFinancial, m.Financial)
	put(KindReversalAdvice, m.ReversalAdvice)
	put(KindEcho, m.Echo)
	return t
}
