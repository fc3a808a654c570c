package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Merchant is where a card is used. A multi-use card locks to the first
// merchant (DE 42 + DE 43 name) it is used at and declines others with 05,
// so the generator keeps every card on its one merchant.
type Merchant struct {
	ID      string `json:"id"`      // DE 42, 1-15 characters
	Name    string `json:"name"`    // DE 43 positions 1-25
	City    string `json:"city"`    // DE 43 positions 26-38
	Country string `json:"country"` // DE 43 positions 39-40
	MCC     string `json:"mcc"`     // DE 18, 4 digits
}

// Card is one card the generator spends with: its credentials as the
// card-details endpoint returned them, its limit and its merchant.
//
// Card holds a full PAN and CVV2. Its String method masks them, so that
// printing a Card with %v cannot leak them; only the state file holds them.
type Card struct {
	ID       string `json:"id,omitempty"`
	AgentID  string `json:"agentId,omitempty"`
	UserID   string `json:"userId,omitempty"`
	PAN      string `json:"pan"`
	CVV      string `json:"cvv"`
	ExpMonth string `json:"expirationMonth"` // "01".."12"
	ExpYear  string `json:"expirationYear"`  // four digits
	// MaxAmountCents is the card's maxAmount; decline_limit messages ask
	// for more than this, and ordinary purchases stay well below it.
	MaxAmountCents int64    `json:"maxAmountCents"`
	Merchant       Merchant `json:"merchant"`
	// IntentID is set when an intent was declared for the card; intent
	// messages then spend IntentAmountCents at the card's merchant.
	IntentID          string `json:"intentId,omitempty"`
	IntentAmountCents int64  `json:"intentAmountCents,omitempty"`
}

// String describes the card without its credentials.
func (c Card) String() string {
	return fmt.Sprintf("card %s %s", c.ID, MaskPAN(c.PAN))
}

// GoString keeps %#v from printing the credentials too.
func (c Card) GoString() string { return c.String() }

// MaskPAN keeps the first six and last four digits of a PAN and replaces
// the rest with '*'. Shorter strings are masked entirely.
func MaskPAN(pan string) string {
	if len(pan) < 12 {
		return strings.Repeat("*", len(pan))
	}
	return pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validate checks that the card can be put into a message. Errors name the
// card by ID and masked PAN only.
func (c *Card) validate() error {
	bad := func(what string) error { return fmt.Errorf("loadtest: %s: %s", c, what) }
	switch {
	case len(c.PAN) < 12 || len(c.PAN) > 19 || !isDigits(c.PAN):
		return bad("PAN must be 12 to 19 digits")
	case len(c.CVV) < 3 || len(c.CVV) > 4 || !isDigits(c.CVV):
		return bad("CVV must be 3 or 4 digits")
	case len(c.ExpMonth) != 2 || !isDigits(c.ExpMonth) || c.ExpMonth < "01" || c.ExpMonth > "12":
		return bad("expirationMonth must be 01 to 12")
	case len(c.ExpYear) != 4 || !isDigits(c.ExpYear):
		return bad("expirationYear must be 4 digits")
	case c.MaxAmountCents <= 0:
		return bad("maxAmountCents must be positive")
	case c.Merchant.ID == "" || len(c.Merchant.ID) > 15 || !isPrintable(c.Merchant.ID):
		return bad("merchant id must be 1 to 15 printable characters")
	case c.Merchant.Name == "" || len(c.Merchant.Name) > 25 || !isPrintable(c.Merchant.Name):
		return bad("merchant name must be 1 to 25 printable characters")
	case len(c.Merchant.City) > 13 || !isPrintable(c.Merchant.City):
		return bad("merchant city must be at most 13 printable characters")
	case len(c.Merchant.Country) != 2 || !isPrintable(c.Merchant.Country):
		return bad("merchant country must be 2 characters")
	case len(c.Merchant.MCC) != 4 || !isDigits(c.Merchant.MCC):
		return bad("merchant MCC must be 4 digits")
	}
	return nil
}

// merchantMCCs are ordinary retail categories, none of them ones an issuer
// blocks by default (gambling, cash, quasi-cash).
var merchantMCCs = [...]string{"5411", "5812", "5814", "5732", "5942", "5999", "4121", "5311"}

var merchantCities = [...]string{"SPRINGFIELD", "RIVERSIDE", "FAIRVIEW", "GREENVILLE", "MADISON"}

// merchantCount is how many distinct merchants cards are spread over.
const merchantCount = 97

// merchantFor returns the merchant of card i: deterministic, so a state file
// and a fresh provisioning agree, and the same for every message of a card.
func merchantFor(i int) Merchant {
	m := i % merchantCount
	return Merchant{
		ID:      fmt.Sprintf("LTM%012d", m),
		Name:    fmt.Sprintf("LOADTEST SHOP %03d", m),
		City:    merchantCities[m%len(merchantCities)],
		Country: "US",
		MCC:     merchantMCCs[m%len(merchantMCCs)],
	}
}

// State is what Provision created, kept between runs in a state file.
type State struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	// IntentsSupported records whether the server accepted intents
	// (POST /v1/cards/{id}/intents); when false the mix's intent share is
	// sent as ordinary authorizations.
	IntentsSupported bool   `json:"intentsSupported"`
	Cards            []Card `json:"cards"`
}

const stateVersion = 1

// DefaultStateFile is the state file's name when none is given.
const DefaultStateFile = "loadtest-state.json"

// Save writes the state to path with mode 0600, because it holds PANs and
// CVV2s. It writes a temporary file in the same directory and renames it,
// so a crash never leaves a half-written state file behind.
func (s *State) Save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("loadtest: encode state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".loadtest-state-*")
	if err != nil {
		return fmt.Errorf("loadtest: save state: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("loadtest: save state: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("loadtest: save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("loadtest: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("loadtest: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("loadtest: save state: %w", err)
	}
	return nil
}

// LoadState reads a state file written by Save and checks every card.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loadtest: load state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		// json's syntax errors quote at most a character, never a PAN.
		return nil, fmt.Errorf("loadtest: load state %s: %w", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("loadtest: load state %s: version %d, want %d", path, s.Version, stateVersion)
	}
	if len(s.Cards) == 0 {
		return nil, fmt.Errorf("loadtest: load state %s: no cards", path)
	}
	for i := range s.Cards {
		if err := s.Cards[i].validate(); err != nil {
			return nil, err
		}
	}
	return &s, nil
}

// SyntheticCards makes n Luhn-valid cards that exist on no server, for
// driving a sink (EchoSink, StallSink) or measuring the generator itself.
// Every card gets a merchant, a maxAmount of $1,000 and an intent amount,
// so every kind of message can be built.
func SyntheticCards(n int, seed uint64) []Card {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	cards := make([]Card, n)
	for i := range cards {
		digits := make([]byte, 16)
		copy(digits, "400000")
		for j := 6; j < 15; j++ {
			digits[j] = byte('0' + rng.IntN(10))
		}
		digits[15] = luhnDigit(digits[:15])
		cards[i] = Card{
			ID:                fmt.Sprintf("card_synthetic_%d", i),
			PAN:               string(digits),
			CVV:               fmt.Sprintf("%03d", rng.IntN(1000)),
			ExpMonth:          fmt.Sprintf("%02d", 1+rng.IntN(12)),
			ExpYear:           "2031",
			MaxAmountCents:    100_000,
			Merchant:          merchantFor(i),
			IntentID:          fmt.Sprintf("lt_synthetic_%d", i),
			IntentAmountCents: 2_500,
		}
	}
	return cards
}

// luhnDigit returns the check digit that makes payload+digit Luhn-valid.
func luhnDigit(payload []byte) byte {
	sum := 0
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if (len(payload)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// ProvisionOptions tunes Provision. Zero fields take the default in their
// comment.
type ProvisionOptions struct {
	// CardsPerUser is how many cards each user (and its one agent) gets.
	// More users spread the load over more of the server's shards.
	// Default 5.
	CardsPerUser int
	// DepositTokens is each user's simulated USDC deposit, in whole tokens
	// (1 token = 100 cents). Default 1,000,000 ($1,000,000), enough for
	// millions of authorizations at the generator's $1-$50 amounts.
	DepositTokens int64
	// MaxAmountCents is each card's maxAmount. Default 100,000 ($1,000).
	MaxAmountCents int64
	// IntentAmountCents is the expectedAmount of each card's intent.
	// Default 2,500 ($25).
	IntentAmountCents int64
	// Concurrency is how many users are provisioned at once. Default 8.
	Concurrency int
	// Client is the HTTP client. Default: one with a 30 s timeout.
	Client *http.Client
	// Progress receives a line per tenth of the cards. Default none.
	Progress io.Writer
	// Tag makes names, e-mail addresses and idempotency keys unique to
	// this provisioning. Default: derived from the current time.
	Tag string
}

func (o *ProvisionOptions) defaults() {
	if o.CardsPerUser <= 0 {
		o.CardsPerUser = 5
	}
	if o.DepositTokens <= 0 {
		o.DepositTokens = 1_000_000
	}
	if o.MaxAmountCents <= 0 {
		o.MaxAmountCents = 100_000
	}
	if o.IntentAmountCents <= 0 {
		o.IntentAmountCents = 2_500
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Tag == "" {
		o.Tag = strconv.FormatInt(time.Now().UnixMilli(), 36)
	}
}

// intentToleranceCents is the tolerance of each declared intent: ±$5, the
// platform's example value.
const intentToleranceCents = 500

// APIError is a non-2xx answer of the management API. It carries the
// platform's error fields, never a request or response body.
type APIError struct {
	Method  string
	Path    string
	Status  int
	Type    string
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("loadtest: %s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
}

// apiClient calls the management API with the organization's key.
type apiClient struct {
	base string
	key  string
	hc   *http.Client
}

// call sends one JSON request and decodes a 2xx answer into out. POSTs
// carry an Idempotency-Key, so that retrying after a 429, a 5xx or a broken
// connection never creates anything twice.
func (a *apiClient) call(ctx context.Context, method, path, idemKey string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("loadtest: encode %s: %w", path, err)
		}
	}
	backoff := 200 * time.Millisecond
	// A rate-limited server (429) is waited out for longer than one that
	// fails: its Retry-After says when to come back.
	const attempts, attemptsLimited = 5, 30
	for attempt := 1; ; attempt++ {
		var wait time.Duration
		req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("loadtest: %s %s: %w", method, path, err)
		}
		req.Header.Set("Api-Key", a.key)
		req.Header.Set("Content-Type", "application/json")
		if idemKey != "" {
			req.Header.Set("Idempotency-Key", idemKey)
		}
		resp, err := a.hc.Do(req)
		var retry bool
		if err == nil {
			raw, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			switch {
			case rerr != nil:
				err, retry = fmt.Errorf("loadtest: %s %s: read answer: %w", method, path, rerr), attempt < attempts
			case resp.StatusCode >= 200 && resp.StatusCode < 300:
				if out == nil {
					return nil
				}
				if jerr := json.Unmarshal(raw, out); jerr != nil {
					// The body may hold a PAN (card details): report
					// only that it did not decode.
					return fmt.Errorf("loadtest: %s %s: answer is not the expected JSON", method, path)
				}
				return nil
			case resp.StatusCode == http.StatusTooManyRequests:
				err = apiError(method, path, resp.StatusCode, raw)
				retry = attempt < attemptsLimited
				if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
					wait = min(time.Duration(secs)*time.Second, time.Minute)
				}
			default:
				err = apiError(method, path, resp.StatusCode, raw)
				retry = resp.StatusCode >= 500 && attempt < attempts
			}
		} else {
			err, retry = fmt.Errorf("loadtest: %s %s: %w", method, path, err), ctx.Err() == nil && attempt < attempts
		}
		if !retry {
			return err
		}
		wait = max(wait, backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func apiError(method, path string, status int, raw []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status}
	var body struct {
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil {
		e.Type, e.Code, e.Message = body.Error.Type, body.Error.Code, body.Error.Message
	}
	if e.Code == "" {
		e.Code = http.StatusText(status)
	}
	return e
}

// Provision creates cards through the management API at api (e.g.
// "http://localhost:8080") with the organization's key: for every
// CardsPerUser cards one user (created, KYC approved through
// POST /v1/simulate/kyc, funded with a simulated deposit) and one agent;
// then multi-use rawPan cards with acknowledgeRawPanRisk, each with a
// declared intent at its merchant when the server supports intents, and
// finally each card's PAN, CVV2 and expiry through the card-details
// endpoint.
//
// A 404 from POST /v1/cards/{id}/intents means the server has no intents
// yet: provisioning goes on without them and State.IntentsSupported is
// false. Provision does not write the state file; call State.Save.
func Provision(ctx context.Context, api, key string, cards int, opts ProvisionOptions) (*State, error) {
	if cards < 1 {
		return nil, errors.New("loadtest: provision: cards must be at least 1")
	}
	if api == "" || key == "" {
		return nil, errors.New("loadtest: provision: the API address and key are required")
	}
	opts.defaults()
	ac := &apiClient{base: strings.TrimRight(api, "/"), key: key, hc: opts.Client}
	p := &provisioner{ac: ac, opts: opts, cards: make([]Card, cards), total: cards}
	p.intents.Store(intentsUnknown)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	users := (cards + opts.CardsPerUser - 1) / opts.CardsPerUser
	work := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for w := 0; w < min(opts.Concurrency, users); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				if err := p.user(ctx, u); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for u := 0; u < users; u++ {
		select {
		case work <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &State{
		Version:          stateVersion,
		CreatedAt:        time.Now().UTC(),
		IntentsSupported: p.intents.Load() == intentsYes,
		Cards:            p.cards,
	}, nil
}

const (
	intentsUnknown int32 = iota
	intentsYes
	intentsNo
)

type provisioner struct {
	ac      *apiClient
	opts    ProvisionOptions
	cards   []Card // each index written by exactly one worker
	total   int
	done    atomic.Int64
	intents atomic.Int32
}

type idView struct {
	ID string `json:"id"`
}

// user creates user u, its agent and its cards.
func (p *provisioner) user(ctx context.Context, u int) error {
	tag := p.opts.Tag
	key := func(step string) string { return fmt.Sprintf("loadtest-%s-%d-%s", tag, u, step) }
	var usr idView
	if err := p.ac.call(ctx, "POST", "/v1/users", key("user"), map[string]any{
		"firstName": "Load", "lastName": fmt.Sprintf("Test %d", u),
		"email": fmt.Sprintf("loadtest-%s-%d@example.com", tag, u),
	}, &usr); err != nil {
		return err
	}
	if err := p.ac.call(ctx, "POST", "/v1/simulate/kyc", key("kyc"),
		map[string]any{"userId": usr.ID, "decision": "approved"}, nil); err != nil {
		return err
	}
	if err := p.ac.call(ctx, "POST", "/v1/simulate/deposit", key("deposit"), map[string]any{
		"userId": usr.ID, "asset": "USDC", "chain": "base", "amount": strconv.FormatInt(p.opts.DepositTokens, 10),
	}, nil); err != nil {
		return err
	}
	var agent idView
	if err := p.ac.call(ctx, "POST", "/v1/agents/register", key("agent"), map[string]any{
		"userId": usr.ID, "externalId": fmt.Sprintf("loadtest-%s-%d", tag, u), "name": fmt.Sprintf("loadtest agent %d", u),
	}, &agent); err != nil {
		return err
	}
	for j := 0; j < p.opts.CardsPerUser; j++ {
		i := u*p.opts.CardsPerUser + j
		if i >= p.total {
			break
		}
		c, err := p.card(ctx, i, usr.ID, agent.ID)
		if err != nil {
			return err
		}
		p.cards[i] = c
		if n := p.done.Add(1); n%int64(max(1, p.total/10)) == 0 || int(n) == p.total {
			fmt.Fprintf(p.opts.Progress, "provisioned %d/%d cards\n", n, p.total)
		}
	}
	return nil
}

// card creates card i, declares its intent and reads its credentials.
func (p *provisioner) card(ctx context.Context, i int, userID, agentID string) (Card, error) {
	m := merchantFor(i)
	c := Card{UserID: userID, AgentID: agentID, MaxAmountCents: p.opts.MaxAmountCents, Merchant: m}
	var created idView
	if err := p.ac.call(ctx, "POST", "/v1/agents/"+agentID+"/cards", fmt.Sprintf("loadtest-%s-card-%d", p.opts.Tag, i), map[string]any{
		"purpose": "ledgersim load test at " + m.Name, "type": "multi",
		"credentialExposure": "rawPan", "acknowledgeRawPanRisk": true, "maxAmount": p.opts.MaxAmountCents,
	}, &created); err != nil {
		return c, err
	}
	c.ID = created.ID
	summary := "load test purchases at " + m.Name
	if p.intents.Load() != intentsNo {
		intentID := "lt_" + p.opts.Tag + "_" + strconv.Itoa(i)
		err := p.ac.call(ctx, "POST", "/v1/cards/"+c.ID+"/intents", "", map[string]any{
			"intentId": intentID, "summary": summary, "expectedAmount": p.opts.IntentAmountCents,
			"expectedMerchant": m.Name, "tolerance": intentToleranceCents,
		}, nil)
		var ae *APIError
		switch {
		case err == nil:
			p.intents.CompareAndSwap(intentsUnknown, intentsYes)
			c.IntentID, c.IntentAmountCents = intentID, p.opts.IntentAmountCents
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			p.intents.Store(intentsNo)
		default:
			return c, err
		}
	}
	var details struct {
		PAN      string `json:"pan"`
		CVV      string `json:"cvv"`
		ExpMonth string `json:"expirationMonth"`
		ExpYear  string `json:"expirationYear"`
	}
	if err := p.ac.call(ctx, "POST", "/v1/cards/"+c.ID+"/details", "", map[string]any{
		"summary": summary, "expectedAmount": p.opts.IntentAmountCents, "merchantText": m.Name,
	}, &details); err != nil {
		return c, err
	}
	c.PAN, c.CVV, c.ExpMonth, c.ExpYear = details.PAN, details.CVV, details.ExpMonth, details.ExpYear
	if err := c.validate(); err != nil {
		return c, err
	}
	return c, nil
}
