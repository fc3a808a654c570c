package ledger

import (
	"context"
	"sync"
	"time"

	"github.com/ledgersim/ledgersim/store"
)

// IdemWindow is how long an idempotency key is remembered.
const IdemWindow = 24 * time.Hour

// IdemRecord is the stored first response to a request made with an
// Idempotency-Key.
type IdemRecord struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	BodyHash  string `json:"bodyHash"`
	Status    int    `json:"status"`
	Body      []byte `json:"body"`
	CreatedAt int64  `json:"createdAt"`
}

// Idem carries an Idempotency-Key through an operation so that the
// operation's batch also stores the response it will give.
type Idem struct {
	key      []byte
	lockKey  string
	method   string
	path     string
	bodyHash string
	render   func(result any) (int, []byte, error)

	// Status and Body are set once the response is recorded.
	Status int
	Body   []byte
}

// NewIdem scopes key to the caller (principal) and the request.
func NewIdem(principal, key, method, path string, body []byte) *Idem {
	scope := hashHex([]byte(principal + "\x00" + key))
	return &Idem{key: store.IdemKey(scope), lockKey: scope, method: method, path: path, bodyHash: hashHex(body)}
}

// SetRender tells the Idem how the operation's result becomes the response.
func (i *Idem) SetRender(render func(result any) (int, []byte, error)) { i.render = render }

// Matches reports whether rec answers the same request as i.
func (i *Idem) Matches(rec *IdemRecord) bool {
	return rec.Method == i.method && rec.Path == i.path && rec.BodyHash == i.bodyHash
}

func (i *Idem) record(c *change, result any) error {
	if i.render == nil {
		return nil
	}
	status, body, err := i.render(result)
	if err != nil {
		return err
	}
	i.Status, i.Body = status, body
	c.put(i.key, IdemRecord{Method: i.method, Path: i.path, BodyHash: i.bodyHash, Status: status, Body: body, CreatedAt: c.now.UnixMilli()})
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

// FindIdem returns the stored response for i's key, if one is remembered.
func (l *Ledger) FindIdem(i *Idem) (*IdemRecord, bool, error) {
	var rec IdemRecord
	err := l.db.GetJSON(i.key, &rec)
	if err == store.ErrNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if l.clock.Now().UnixMilli()-rec.CreatedAt > IdemWindow.Milliseconds() {
		return nil, false, nil
	}
	return &rec, true, nil
}

// Put records the response of a change made outside the ledger (the
// webhook endpoints' own batches) in that change's batch, in the same form
// the ledger's changes use, so a retry replays it.
func (i *Idem) Put(b *store.Batch, now time.Time, status int, body []byte) error {
	i.Status, i.Body = status, body
	return b.PutJSON(i.key, IdemRecord{Method: i.method, Path: i.path, BodyHash: i.bodyHash, Status: status, Body: body, CreatedAt: now.UnixMilli()})
}

func withoutIdem(ctx context.Context) context.Context {
	return context.WithValue(ctx, idemCtxKey{}, (*Idem)(nil))
}
