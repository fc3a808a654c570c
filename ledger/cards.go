package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/matcher"

	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// CardInput is a validated card request (the Create card page's fields).
type CardInput struct {
	Purpose                  string
	Type                     string
	CredentialExposure       string
	AcknowledgeRawPanRisk    bool
	MaxAmount                *int64
	MerchantHint             string
	Limits                   model.Limits
	LimitsGiven              bool
	MaxAuthCount             *int64
	TTLDays                  *int64
	AttestationWindowMinutes int64
	OnDrift                  string
	// PolicyID names the card's policy ("" : its agent's default).
	PolicyID string
	// Controls are the card's own policy controls, which override its
	// policy's.
	Controls model.Controls
	// NotActivated issues the card notActivated: it declines until
	// ActivateCard.
	NotActivated bool
}

// CreateCard issues a card to an active agent of an approved user.
func (l *Ledger) CreateCard(ctx context.Context, agentID string, in CardInput) (model.Card, error) {
	now := l.clock.Now()
	s, a, err := l.lockAgent(agentID)
	if err != nil {
		return model.Card{}, err
	}
	release := holdShard(s)
	defer release()
	if a.Status != model.AgentActive {
		return model.Card{}, conflict("agent_not_active", fmt.Sprintf("Cards can be issued only to active agents; this agent is %s.", a.Status))
	}
	u := s.users[a.UserID]
	if u == nil {
		return model.Card{}, conflict("user_not_verified", "The agent's user must be approved before cards can be issued.")
	}
	if u.Status != model.UserApproved {
		return model.Card{}, notVerified(u, "Cards are issued")
	}
	if a.MaxCards != nil && a.CardCount >= *a.MaxCards {
		return model.Card{}, conflict("max_cards_reached", fmt.Sprintf("The agent already has its maximum of %d cards.", *a.MaxCards))
	}
	if err := l.checkPolicyRef(in.PolicyID, "policyId"); err != nil {
		return model.Card{}, err
	}
	card := &model.Card{
		ID: l.ids.New(model.PrefixCard, now), AgentID: a.ID, UserID: a.UserID, Type: in.Type, Purpose: in.Purpose,
		Status: model.CardActive, CredentialExposure: in.CredentialExposure, AcknowledgeRawPanRisk: in.AcknowledgeRawPanRisk,
		MaxAmount: in.MaxAmount, MerchantHint: in.MerchantHint, Limits: in.Limits, MaxAuthCount: in.MaxAuthCount,
		TTLDays: in.TTLDays, AttestationWindowMinutes: in.AttestationWindowMinutes, OnDrift: in.OnDrift,
		PolicyID: in.PolicyID, Controls: in.Controls, CreatedAt: model.Ms(now), UpdatedAt: model.Ms(now),
	}
	if in.NotActivated {
		card.Status, card.AwaitingActivation = model.CardNotActivated, true
	}
	if card.CredentialExposure == "" {
		// Not given: the policy's, or else extensionOnly.
		card.CredentialExposure = model.ExposureExtension
		if pol := l.policyOf(card, a); pol != nil && pol.CredentialExposure != "" {
			card.CredentialExposure = pol.CredentialExposure
		}
		if card.CredentialExposure == model.ExposureRawPAN {
			card.AcknowledgeRawPanRisk = true // the policy's author acknowledged it
		}
	}
	if !in.LimitsGiven && a.DefaultCardLimit != nil {
		applyDefaultLimit(card, *a.DefaultCardLimit, a.DefaultCardLimitFrequency)
	}
	// The card expires at the end of the month in which its lifetime ends.
	life := l.cfg.CardLifetime
	if in.TTLDays != nil && time.Duration(*in.TTLDays)*24*time.Hour < life {
		life = time.Duration(*in.TTLDays) * 24 * time.Hour
	}
	exp := now.Add(life)
	card.ExpMonth = fmt.Sprintf("%02d", int(exp.Month()))
	card.ExpYear = fmt.Sprintf("%04d", exp.Year())

	pan, hash, key, err := l.newUniquePAN()
	if err != nil {
		return model.Card{}, err
	}
	sealed, err := l.vault.Seal(card.ID, pan)
	if err != nil {
		return model.Card{}, err
	}
	card.PANEnc, card.PANHash, card.BIN, card.Last4 = sealed, hash, pan[:6], pan[len(pan)-4:]

	na := *a
	na.CardCount++
	c := l.begin(now)
	c.kind(RecCard)
	c.putCard(card)
	c.index(keyspace.CardByAgentKey(a.ID, card.ID))
	c.index(keyspace.CardByUserKey(a.UserID, card.ID))
	c.putAgent(&na)
	c.event(model.EvtCardCreated, map[string]any{"cardId": card.ID, "agentId": a.ID, "userId": a.UserID, "type": card.Type, "status": card.Status, "last4": card.Last4})
	if err := c.apply(ctx, *card); err != nil {
		l.releasePAN(key)
		return model.Card{}, err
	}
	*a = na
	s.cards[card.ID] = card
	l.noteCardLifetime(s, card, a)
	l.dir.mu.Lock()
	l.dir.userOfCard[card.ID] = card.UserID
	l.dir.cardByPAN[key] = panEntry{cardID: card.ID, userID: card.UserID}
	l.dir.mu.Unlock()
	release()
	return *card, c.wait()
}

// applyDefaultLimit sets the card limit that an agent's defaultCardLimit
// and defaultCardLimitFrequency stand for.
func applyDefaultLimit(card *model.Card, limit int64, freq string) {
	v := limit
	switch freq {
	case model.FreqPerTransaction, "":
		card.Limits.PerAuth = &v
	case model.FreqPer24Hours:
		card.Limits.PerDay = &v
	case model.FreqPerWeek:
		card.Limits.PerWeek = &v
	case model.FreqPerMonth:
		card.Limits.PerMonth = &v
	case model.FreqPerYear:
		card.Limits.PerYear = &v
	case model.FreqAllTime:
		card.Limits.AllTime = &v
	}
}

// pendingPAN marks a PAN hash as taken while its card is being created.
const pendingPAN = "\x00pending"

// panKey is a PAN's keyed hash as its bytes (vault.HashSum): the
// directory's key for a PAN, which a lookup makes without rendering the
// hex form cards store (model.Card.PANHash).
type panKey [vault.HashSize]byte

// panEntry is what the directory holds for a PAN: the card it was issued
// as and the card's user, so that an authorization finds both in one
// lookup.
type panEntry struct{ cardID, userID string }

// panKeyOf converts a card's stored PANHash (hex) to its key; ok is false
// for one that is not the hex of a hash, which no PAN's lookup could find.
func panKeyOf(hashHex string) (k panKey, ok bool) {
	if len(hashHex) != 2*len(k) {
		return k, false
	}
	if _, err := hex.Decode(k[:], []byte(hashHex)); err != nil {
		return k, false
	}
	return k, true
}

// newUniquePAN draws a PAN no card has, and marks its hash taken until
// the card is created or releasePAN gives it back. It returns the PAN,
// its hash in the stored (hex) form and its directory key.
func (l *Ledger) newUniquePAN() (string, string, panKey, error) {
	for attempt := 0; attempt < 100; attempt++ {
		pan, err := l.vault.NewPAN(rand.Reader)
		if err != nil {
			return "", "", panKey{}, err
		}
		key := panKey(l.vault.HashSum(pan))
		l.dir.mu.Lock()
		_, taken := l.dir.cardByPAN[key]
		if !taken {
			l.dir.cardByPAN[key] = panEntry{cardID: pendingPAN}
		}
		l.dir.mu.Unlock()
		if !taken {
			return pan, hex.EncodeToString(key[:]), key, nil
		}
	}
	return "", "", panKey{}, fmt.Errorf("ledger: no free PAN in BIN %s after 100 attempts", l.vault.BIN())
}

func (l *Ledger) releasePAN(key panKey) {
	l.dir.mu.Lock()
	delete(l.dir.cardByPAN, key)
	l.dir.mu.Unlock()
}

// lockCard finds a card and locks its shard. The caller unlocks s.
func (l *Ledger) lockCard(cardID string) (*shard, *model.Card, error) {
	userID, ok := l.userOfCard(cardID)
	if !ok {
		return nil, nil, notFound("card_not_found", "card", cardID)
	}
	s := l.shardOf(userID)
	s.mu.Lock()
	c, ok := s.cards[cardID]
	if !ok {
		s.mu.Unlock()
		return nil, nil, notFound("card_not_found", "card", cardID)
	}
	return s, c, nil
}

// GetCard returns a card.
func (l *Ledger) GetCard(id string) (model.Card, error) {
	s, c, err := l.lockCard(id)
	if err != nil {
		return model.Card{}, err
	}
	defer s.mu.Unlock()
	return *c, nil
}

// ListCardsOfAgent pages through an agent's cards, newest first.
func (l *Ledger) ListCardsOfAgent(agentID string, p ListParams) (Page[model.Card], error) {
	if _, err := l.GetAgent(agentID); err != nil {
		return Page[model.Card]{}, err
	}
	return listIndexed(l.db, keyspace.CardByAgentKey(agentID, ""), p, l.loadCard, nil)
}

// ListCardsOfUser pages through a user's cards, newest first.
func (l *Ledger) ListCardsOfUser(userID string, p ListParams) (Page[model.Card], error) {
	if _, err := l.GetUser(userID); err != nil {
		return Page[model.Card]{}, err
	}
	return listIndexed(l.db, keyspace.CardByUserKey(userID, ""), p, l.loadCard, nil)
}

func (l *Ledger) loadCard(id string) (model.Card, bool, error) {
	c, err := l.GetCard(id)
	return c, err == nil, nil
}

// CardPatch is a validated partial update; nil fields are unchanged.
type CardPatch struct {
	Limits       *model.Limits
	MerchantHint *string
	OnDrift      *string
	MaxAuthCount *int64
	ClearMaxAuth bool
	MaxAmount    *int64
	Status       *string // active or frozen
	// PolicyID, when set, names the card's policy; "" removes it (the
	// agent's default applies again).
	PolicyID *string
	// EditControls, when set, edits the card's own controls (under the
	// card's lock, so that concurrent patches do not lose each other's).
	EditControls func(*model.Controls) error
}

// UpdateCard applies a patch.
func (l *Ledger) UpdateCard(ctx context.Context, id string, p CardPatch) (model.Card, error) {
	if p.Status != nil && *p.Status == model.CardActive {
		// status active activates a notActivated card, as it unfreezes a
		// frozen one.
		if cur, err := l.GetCard(id); err == nil && cur.Status == model.CardNotActivated {
			if _, err := l.ActivateCard(ctx, id); err != nil {
				return model.Card{}, err
			}
			p.Status = nil
		}
	}
	if p.Status != nil {
		var err error
		if *p.Status == model.CardFrozen {
			_, err = l.transitionCard(ctx, id, model.CardFrozen, true)
		} else {
			_, err = l.transitionCard(ctx, id, model.CardActive, true)
		}
		if err != nil {
			return model.Card{}, err
		}
	}
	now := l.clock.Now()
	s, card, err := l.lockCard(id)
	if err != nil {
		return model.Card{}, err
	}
	release := holdShard(s)
	defer release()
	if card.Status == model.CardClosed {
		return model.Card{}, conflict("card_already_closed", "The card is closed; a closed card cannot be changed.")
	}
	nc := *card
	if p.Limits != nil {
		nc.Limits = *p.Limits
	}
	if p.MerchantHint != nil {
		nc.MerchantHint = *p.MerchantHint
	}
	if p.OnDrift != nil {
		nc.OnDrift = *p.OnDrift
	}
	if p.ClearMaxAuth {
		nc.MaxAuthCount = nil
	} else if p.MaxAuthCount != nil {
		nc.MaxAuthCount = p.MaxAuthCount
	}
	if p.MaxAmount != nil {
		nc.MaxAmount = p.MaxAmount
	}
	if p.PolicyID != nil {
		if err := l.checkPolicyRef(*p.PolicyID, "policyId"); err != nil {
			return model.Card{}, err
		}
		nc.PolicyID = *p.PolicyID
	}
	if p.EditControls != nil {
		// A copy of the slices: the edit must not reach the card in place.
		nc.Controls.ActiveDays = slices.Clone(nc.Controls.ActiveDays)
		if err := p.EditControls(&nc.Controls); err != nil {
			return model.Card{}, err
		}
	}
	if reflect.DeepEqual(nc, *card) {
		// A patch that changes nothing writes nothing, updatedAt included.
		return nc, nil
	}
	nc.UpdatedAt = model.Ms(now)
	c := l.begin(now)
	c.kind(RecCard)
	c.putCard(&nc)
	if err := c.apply(ctx, nc); err != nil {
		return model.Card{}, err
	}
	*card = nc
	l.cardLifetimesChanged()
	release()
	return nc, c.wait()
}

// CardTransition is the result of freeze, unfreeze and close.
type CardTransition struct {
	Card           model.Card
	PreviousStatus string
}

// FreezeCard freezes an active card.
func (l *Ledger) FreezeCard(ctx context.Context, id string) (CardTransition, error) {
	return l.transitionCard(ctx, id, model.CardFrozen, false)
}

// UnfreezeCard reactivates a frozen card.
func (l *Ledger) UnfreezeCard(ctx context.Context, id string) (CardTransition, error) {
	return l.transitionCard(ctx, id, model.CardActive, false)
}

// CloseCard closes a card for good.
func (l *Ledger) CloseCard(ctx context.Context, id string) (CardTransition, error) {
	return l.transitionCard(ctx, id, model.CardClosed, false)
}

// transitionCard moves a card to status. With lenient, asking for the
// status the card already has is not an error (PATCH semantics).
func (l *Ledger) transitionCard(ctx context.Context, id, to string, lenient bool) (CardTransition, error) {
	now := l.clock.Now()
	s, card, err := l.lockCard(id)
	if err != nil {
		return CardTransition{}, err
	}
	release := holdShard(s)
	defer release()
	from := card.Status
	if from == model.CardClosed {
		return CardTransition{}, conflict("card_already_closed", "The card is closed; closing is final.")
	}
	if from == to {
		if lenient {
			return CardTransition{Card: *card, PreviousStatus: from}, nil
		}
		switch to {
		case model.CardFrozen:
			return CardTransition{}, conflict("card_already_frozen", "The card is already frozen.")
		case model.CardActive:
			return CardTransition{}, conflict("card_not_frozen", "The card is not frozen.")
		}
	}
	if to == model.CardActive {
		if a := s.agents[card.AgentID]; a != nil && a.Status != model.AgentActive {
			return CardTransition{}, conflict("agent_not_active", fmt.Sprintf("The card's agent is %s; reactivate the agent first.", a.Status))
		}
		if from != model.CardFrozen {
			return CardTransition{}, conflict("card_not_frozen", "Only a frozen card can be unfrozen.")
		}
	}
	if to == model.CardActive && card.AwaitingActivation {
		// Unfrozen before it was ever activated: back to waiting.
		to = model.CardNotActivated
	}
	nc := *card
	nc.Status, nc.UpdatedAt, nc.FrozenBySuspension = to, model.Ms(now), false
	typ := model.EvtCardFrozen
	switch to {
	case model.CardActive, model.CardNotActivated:
		typ = model.EvtCardUnfrozen
	case model.CardClosed:
		typ = model.EvtCardClosed
		nc.ClosedAt = model.Ms(now)
	}
	c := l.begin(now)
	c.kind(RecCard)
	c.putCard(&nc)
	c.event(typ, map[string]any{"cardId": nc.ID, "agentId": nc.AgentID, "userId": nc.UserID, "status": to, "previousStatus": from})
	res := CardTransition{Card: nc, PreviousStatus: from}
	if err := c.apply(ctx, res); err != nil {
		return CardTransition{}, err
	}
	*card = nc
	release()
	return res, c.wait()
}

// Attestation is what a caller claims when it reads a card's credentials.
type Attestation struct {
	Summary          string
	ExpectedAmount   *int64
	ExpectedCurrency string
	MerchantText     string
	Reason           string
	ClientContext    map[string]any
	Actor            string // who asked: "api_key" or the agent token's ID
}

// Credentials is the result of a card-details read. For a rawPan card it
// carries the card data; for an extensionOnly card a single-use token the
// browser extension redeems for it.
type Credentials struct {
	AccessEvent    model.AccessEvent
	PAN            string
	CVV            string
	ExpMonth       string
	ExpYear        string
	Last4          string
	DetailsToken   string
	TokenExpiresAt int64
}

// Card-details access limits (the platform's credential-access guide).
const (
	MaxAccessesPerHour = 10
	DetailsTokenTTL    = 120 * time.Second
)

// ReadDetails records an access event for the attestation and returns the
// card's credentials as its exposure mode allows. A multi-use card needs a
// pending intent; the access is tied to it, and the intent then waits up to
// 24 hours for its transaction.
func (l *Ledger) ReadDetails(ctx context.Context, cardID string, at Attestation) (Credentials, error) {
	now := l.clock.Now()
	nowMs := model.Ms(now)
	s, card, err := l.lockCard(cardID)
	if err != nil {
		return Credentials{}, err
	}
	release := holdShard(s)
	defer release()
	// A notActivated card's number is known to its holder, as a plastic
	// card's is before activation; it declines until activated.
	if card.Status != model.CardActive && card.Status != model.CardNotActivated {
		return Credentials{}, &Error{Kind: KindInvalid, Code: "card_not_active", Message: fmt.Sprintf("The card is %s; credentials are available only for active and notActivated cards.", card.Status)}
	}
	if card.CredentialExposure == model.ExposureNever {
		return Credentials{}, &Error{Kind: KindForbidden, Code: "credentials_not_exposed", Message: "This card's credentialExposure is 'never': its credentials cannot be retrieved."}
	}
	hourAgo := nowMs - int64(time.Hour/time.Millisecond)
	var recent []int64
	for _, t := range card.Usage.RecentAccesses {
		if t > hourAgo {
			recent = append(recent, t)
		}
	}
	if len(recent) >= MaxAccessesPerHour {
		wait := (recent[0] - hourAgo + 999) / 1000
		return Credentials{}, &Error{Kind: KindLimited, Code: "credential_access_limit", RetryAfterSeconds: int(max(wait, 1)),
			Message: fmt.Sprintf("A card's credentials may be read at most %d times an hour.", MaxAccessesPerHour)}
	}
	// The newest pending intent is the one being acted on.
	var intentID string
	var intentCreatedMs int64
	s.intents.Pending(card.ID, func(p matcher.Pending) bool {
		if p.ExpiresMs > nowMs {
			intentID, intentCreatedMs = p.ID, p.CreatedMs
		}
		return true
	})
	if err := s.approvals.gateCredentials(card.ID, intentCreatedMs, nowMs); err != nil {
		return Credentials{}, err
	}
	if intentID == "" && card.Type == model.CardMulti {
		return Credentials{}, &Error{Kind: KindConflict, Code: "intent_required",
			Message: "Declare what the card is about to be used for with POST /v1/cards/" + card.ID + "/intents before requesting its details."}
	}
	pan, err := l.vault.Open(card.ID, card.PANEnc)
	if err != nil {
		return Credentials{}, err
	}
	ev := model.AccessEvent{
		ID: l.ids.New(model.PrefixEvent, now), CardID: card.ID, AgentID: card.AgentID, UserID: card.UserID, Actor: at.Actor,
		ExposureMode: card.CredentialExposure, Summary: at.Summary, ExpectedAmount: at.ExpectedAmount,
		ExpectedCurrency: at.ExpectedCurrency, MerchantText: at.MerchantText, Reason: at.Reason, ClientContext: at.ClientContext,
		IntentID: intentID, CreatedAt: nowMs,
	}
	creds := Credentials{AccessEvent: ev, Last4: card.Last4}
	c := l.begin(now)
	c.kind(RecCardDetails)
	if card.CredentialExposure == model.ExposureRawPAN {
		creds.PAN, creds.CVV, creds.ExpMonth, creds.ExpYear = pan, l.vault.CVV(pan, card.Expiry()), card.ExpMonth, card.ExpYear
	} else {
		secret := "tok_" + apikey.New("")[:32]
		h := apikey.Hash(secret)
		creds.DetailsToken, creds.TokenExpiresAt = secret, nowMs+DetailsTokenTTL.Milliseconds()
		c.put(keyspace.DetailsTokenKey(hex.EncodeToString(h)), model.DetailsToken{Hash: h, CardID: card.ID, UserID: card.UserID,
			AccessEventID: ev.ID, ExpiresAt: creds.TokenExpiresAt})
	}
	nc := *card
	nc.Usage.LastAccessAt, nc.Usage.LastAccessEventID = nowMs, ev.ID
	nc.Usage.RecentAccesses = append(recent, nowMs)
	c.putUsage(&nc)
	c.put(keyspace.AccessEventKey(ev.ID), ev)
	c.index(keyspace.AccessByCardKey(card.ID, ev.ID))
	var intentExpiry int64
	if intentID != "" {
		it, err := l.loadIntent(intentID)
		if err != nil {
			return Credentials{}, err
		}
		intentExpiry = nowMs + DetailsIntentWait.Milliseconds()
		it.AccessEventID, it.DetailsAccessedAt, it.ExpiresAt, it.UpdatedAt = ev.ID, nowMs, intentExpiry, nowMs
		c.put(keyspace.IntentKey(it.ID), it)
	}
	c.event(model.EvtCredentialAccessed, map[string]any{"accessEventId": ev.ID, "cardId": card.ID, "agentId": card.AgentID,
		"userId": card.UserID, "exposureMode": ev.ExposureMode, "summary": ev.Summary, "intentId": intentID,
		"expectedAmount": ev.ExpectedAmount, "merchantText": ev.MerchantText, "reason": ev.Reason})
	// A retry with the same Idempotency-Key replays this response from its
	// record, which the vault seals like the PAN itself.
	if err := c.apply(ctx, creds); err != nil {
		return Credentials{}, err
	}
	*card = nc
	if intentID != "" {
		s.intents.SetExpiry(intentID, intentExpiry)
	}
	release()
	return creds, c.wait()
}

// RedeemDetailsToken is the browser extension's side of an extensionOnly
// card: it exchanges a details token, once and within its lifetime, for the
// card's credentials.
func (l *Ledger) RedeemDetailsToken(ctx context.Context, token string) (Credentials, error) {
	now := l.clock.Now()
	h := apikey.Hash(token)
	key := keyspace.DetailsTokenKey(hex.EncodeToString(h))
	var dt model.DetailsToken
	if err := l.getJSON(key, &dt); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Credentials{}, &Error{Kind: KindNotFound, Code: "token_not_found", Param: "detailsToken", Message: "No such details token."}
		}
		return Credentials{}, err
	}
	s, card, err := l.lockCard(dt.CardID)
	if err != nil {
		return Credentials{}, err
	}
	release := holdShard(s)
	defer release()
	if err := l.getJSON(key, &dt); err != nil { // re-read under the lock
		return Credentials{}, err
	}
	switch {
	case dt.RedeemedAt != 0:
		return Credentials{}, conflict("token_already_redeemed", "This details token was already redeemed; request the details again.")
	case model.Ms(now) >= dt.ExpiresAt:
		return Credentials{}, &Error{Kind: KindConflict, Code: "token_expired", Message: "This details token has expired; request the details again."}
	case card.Status != model.CardActive && card.Status != model.CardNotActivated:
		return Credentials{}, &Error{Kind: KindInvalid, Code: "card_not_active", Message: "The card is " + card.Status + "."}
	}
	pan, err := l.vault.Open(card.ID, card.PANEnc)
	if err != nil {
		return Credentials{}, err
	}
	dt.RedeemedAt = model.Ms(now)
	creds := Credentials{AccessEvent: model.AccessEvent{ID: dt.AccessEventID, ExposureMode: model.ExposureExtension},
		PAN: pan, CVV: l.vault.CVV(pan, card.Expiry()), ExpMonth: card.ExpMonth, ExpYear: card.ExpYear, Last4: card.Last4}
	c := l.begin(now)
	c.kind(RecCardDetails)
	c.put(key, dt)
	if err := c.apply(ctx, creds); err != nil {
		return Credentials{}, err
	}
	release()
	if err := c.wait(); err != nil {
		return Credentials{}, err
	}
	return creds, nil
}

// ListAccessEvents pages through a card's access events, newest first.
func (l *Ledger) ListAccessEvents(cardID string, p ListParams) (Page[model.AccessEvent], error) {
	if _, err := l.GetCard(cardID); err != nil {
		return Page[model.AccessEvent]{}, err
	}
	return listIndexed(l.db, keyspace.AccessByCardKey(cardID, ""), p, func(id string) (model.AccessEvent, bool, error) {
		var ev model.AccessEvent
		err := l.getJSON(keyspace.AccessEventKey(id), &ev)
		if err == store.ErrNotFound {
			return ev, false, nil
		}
		return ev, err == nil, err
	}, nil)
}
