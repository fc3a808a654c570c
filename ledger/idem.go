package ledger

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/store"
)

// IdemWindow is how long an idempotency key is remembered.
const IdemWindow = 24 * time.Hour

// IdemRecord is the stored first response to a request made with an
// Idempotency-Key. Body is sealed by the vault: some responses carry card
// data (card details, the extension's redemption) or a one-time secret (an
// agent token), and the record must not keep them in the clear.
type IdemRecord struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	BodyHash    string `json:"bodyHash"`
	Status      int    `json:"status"`
	ContentType string `json:"contentType,omitempty"`
	Body        []byte `json:"body"`
	Sealed      bool   `json:"sealed,omitempty"`
	CreatedAt   int64  `json:"createdAt"`
}

// Idem carries an Idempotency-Key through an operation so that the
// operation's batch also stores the response it will give.
type Idem struct {
	l        *Ledger
	key      []byte
	lockKey  string
	method   string
	path     string
	bodyHash string
	render   func(result any) (int, []byte, error)

	// ContentType is the response's media type when it is not JSON.
	ContentType string
	// Status and Body are set once the response is recorded.
	Status int
	Body   []byte
}

// errNoResponse is a programming error: a change made under an
// Idempotency-Key must store the response it reports in its own batch, or a
// retry after a crash would perform it again.
var errNoResponse = errors.New("ledger: a change made under an Idempotency-Key has no response to record")

// NewIdem scopes key to the caller (principal) and the request.
func (l *Ledger) NewIdem(principal, key, method, path string, body []byte) *Idem {
	scope := hashHex([]byte(principal + "\x00" + key))
	return &Idem{l: l, key: keyspace.IdemKey(scope), lockKey: scope, method: method, path: path, bodyHash: hashHex(body)}
}

// SetRender tells the Idem how the operation's result becomes the response.
func (i *Idem) SetRender(render func(result any) (int, []byte, error)) { i.render = render }

// Matches reports whether rec answers the same request as i.
func (i *Idem) Matches(rec *IdemRecord) bool {
	return rec.Method == i.method && rec.Path == i.path && rec.BodyHash == i.bodyHash
}

// sealContext binds a sealed response to its key, so that a record copied
// under another key does not open.
func (i *Idem) sealContext() string { return "idem:" + i.lockKey }

func (i *Idem) newRecord(now time.Time, status int, body []byte) (IdemRecord, error) {
	sealed, err := i.l.vault.Seal(i.sealContext(), string(body))
	if err != nil {
		return IdemRecord{}, err
	}
	return IdemRecord{Method: i.method, Path: i.path, BodyHash: i.bodyHash, Status: status, ContentType: i.ContentType,
		Body: sealed, Sealed: true, CreatedAt: now.UnixMilli()}, nil
}

func (i *Idem) record(c *change, result any) error {
	if i.render == nil || i.Body != nil {
		// No response to store, or a second change in one request:
		// either would leave a change a retry performs again.
		return errNoResponse
	}
	status, body, err := i.render(result)
	if err != nil {
		return err
	}
	rec, err := i.newRecord(c.now, status, body)
	if err != nil {
		return err
	}
	i.Status, i.Body = status, body
	c.put(i.key, rec)
	return c.err
}

type idemCtxKey struct{}

// WithIdem returns a context whose operations record their response under i.
func WithIdem(ctx context.Context, i *Idem) context.Context {
	return context.WithValue(ctx, idemCtxKey{}, i)
}

func idemFrom(ctx context.Context) *Idem {
	i, _ := ctx.Value(idemCtxKey{}).(*Idem)
	return i
}

// idemLocks serializes requests that share an idempotency key, so that two
// concurrent retries cannot both perform the operation.
type idemLocks struct {
	mu    sync.Mutex
	locks map[string]*idemLock
}

type idemLock struct {
	mu   sync.Mutex
	refs int
}

// LockIdem serializes work under i's key; call the returned func to release.
func (l *Ledger) LockIdem(i *Idem) func() {
	l.idem.mu.Lock()
	if l.idem.locks == nil {
		l.idem.locks = map[string]*idemLock{}
	}
	lk := l.idem.locks[i.lockKey]
	if lk == nil {
		lk = &idemLock{}
		l.idem.locks[i.lockKey] = lk
	}
	lk.refs++
	l.idem.mu.Unlock()
	lk.mu.Lock()
	return func() {
		lk.mu.Unlock()
		l.idem.mu.Lock()
		lk.refs--
		if lk.refs == 0 {
			delete(l.idem.locks, i.lockKey)
		}
		l.idem.mu.Unlock()
	}
}

// FindIdem returns the stored response for i's key, if one is remembered,
// with its body opened.
func (l *Ledger) FindIdem(i *Idem) (*IdemRecord, bool, error) {
	var rec IdemRecord
	err := l.getJSON(i.key, &rec)
	if err == store.ErrNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if l.clock.Now().UnixMilli()-rec.CreatedAt > IdemWindow.Milliseconds() {
		return nil, false, nil
	}
	if rec.Sealed {
		body, err := l.vault.Open(i.sealContext(), rec.Body)
		if err != nil {
			return nil, false, err
		}
		rec.Body, rec.Sealed = []byte(body), false
	}
	return &rec, true, nil
}

// SaveIdem records a response that no change recorded: a success that
// changed nothing (a clearing of a transaction already cleared, say). Its
// write is synced before the response leaves.
func (l *Ledger) SaveIdem(i *Idem, status int, body []byte) error {
	rec, err := i.newRecord(l.clock.Now(), status, body)
	if err != nil {
		return err
	}
	c := l.begin(l.clock.Now())
	c.kind(RecIdempotency)
	c.put(i.key, rec)
	if err := c.commit(withoutIdem(context.Background()), nil); err != nil {
		return err
	}
	i.Status, i.Body = status, body
	return nil
}

// Put records the response of a change made outside the ledger (the
// webhook endpoints' own batches, the virtual clock's advance) in that
// change's batch, in the same form the ledger's changes use, so a retry
// replays it.
func (i *Idem) Put(b *store.Batch, now time.Time, status int, body []byte) error {
	rec, err := i.newRecord(now, status, body)
	if err != nil {
		return err
	}
	if err := b.PutJSON(i.key, rec); err != nil {
		return err
	}
	i.Status, i.Body = status, body
	return nil
}

func withoutIdem(ctx context.Context) context.Context {
	return context.WithValue(ctx, idemCtxKey{}, (*Idem)(nil))
}
