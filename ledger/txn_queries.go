package ledger

import (
	"context"
	"errors"
	"slices"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// GetTxn returns a transaction.
func (l *Ledger) GetTxn(id string) (model.Transaction, error) {
	t, err := l.loadTxn(id)
	if err != nil {
		return model.Transaction{}, err
	}
	return *t, nil
}

// TxnFilter selects transactions; empty fields select all.
type TxnFilter struct {
	CardID, UserID, AgentID, Status string
}

// ListTxns pages through transactions, newest first. The most selective
// index available is scanned; the other filters are applied to its records.
func (l *Ledger) ListTxns(f TxnFilter, p ListParams) (Page[model.Transaction], error) {
	keep := func(t *model.Transaction) bool {
		return (f.CardID == "" || t.CardID == f.CardID) && (f.UserID == "" || t.UserID == f.UserID) &&
			(f.AgentID == "" || t.AgentID == f.AgentID) && (f.Status == "" || t.Status == f.Status)
	}
	load := func(id string) (model.Transaction, bool, error) {
		t, err := l.loadTxn(id)
		if err != nil {
			var le *Error
			if errors.As(err, &le) {
				return model.Transaction{}, false, nil
			}
			return model.Transaction{}, false, err
		}
		return *t, true, nil
	}
	switch {
	case f.CardID != "":
		return l.listFromMemory('c', f.CardID, p, load, keep)
	case f.AgentID != "":
		return l.listFromMemory('a', f.AgentID, p, load, keep)
	case f.UserID != "":
		return l.listFromMemory('u', f.UserID, p, load, keep)
	}
	return listRecords(l.db, keyspace.TxnsPrefix, p, DecodeTransaction, keep, func(t *model.Transaction) string { return t.ID })
}

// TxnPatch changes a transaction's metadata. A Set flag with a nil value
// removes the field.
type TxnPatch struct {
	SetNotes    bool
	Notes       *string
	SetTags     bool
	Tags        []string
	SetCategory bool
	Category    *string
}

// lockTxn loads a transaction under its user's shard lock, so metadata
// changes never race a clearing or reversal rewriting the same record.
func (l *Ledger) lockTxn(id string) (*shard, *model.Transaction, error) {
	t, err := l.loadTxn(id)
	if err != nil {
		return nil, nil, err
	}
	s := l.shardOf(t.UserID)
	s.mu.Lock()
	if t, err = l.loadTxn(id); err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	return s, t, nil
}

// UpdateTxn applies a metadata patch.
func (l *Ledger) UpdateTxn(ctx context.Context, id string, p TxnPatch) (model.Transaction, error) {
	now := l.clock.Now()
	s, t, err := l.lockTxn(id)
	if err != nil {
		return model.Transaction{}, err
	}
	release := holdShard(s)
	defer release()
	before := *t
	if p.SetNotes {
		t.Notes = p.Notes
	}
	if p.SetTags {
		t.Tags = p.Tags
	}
	if p.SetCategory {
		t.Category = p.Category
	}
	if sameStr(before.Notes, t.Notes) && sameStr(before.Category, t.Category) && slices.Equal(before.Tags, t.Tags) {
		// A patch that changes nothing writes nothing, updatedAt included.
		return *t, nil
	}
	t.UpdatedAt = model.Ms(now)
	c := l.begin(now)
	c.kind(RecTransaction)
	c.putTxn(t)
	if err := c.apply(ctx, *t); err != nil {
		return model.Transaction{}, err
	}
	release()
	if err := c.wait(); err != nil {
		return model.Transaction{}, err
	}
	return *t, nil
}

func sameStr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// PutReceipt attaches a receipt: a file (data with its MIME type) or a URL.
func (l *Ledger) PutReceipt(ctx context.Context, id string, r model.Receipt, data []byte) (model.Transaction, error) {
	now := l.clock.Now()
	s, t, err := l.lockTxn(id)
	if err != nil {
		return model.Transaction{}, err
	}
	release := holdShard(s)
	defer release()
	r.UploadedAt = model.Ms(now)
	t.Receipt = &r
	t.UpdatedAt = model.Ms(now)
	if data != nil {
		// A file is a blob, not part of the record: it is written and
		// synced before the record that attaches it, so the record never
		// names a file that is not there (and a file whose record was
		// lost is overwritten by the retry).
		if err := l.db.PutSync(keyspace.ReceiptKey(t.ID), data); err != nil {
			return model.Transaction{}, err
		}
	}
	c := l.begin(now)
	c.kind(RecReceipt)
	c.putTxn(t)
	if data == nil {
		c.del(keyspace.ReceiptKey(t.ID))
	}
	if err := c.apply(ctx, *t); err != nil {
		return model.Transaction{}, err
	}
	release()
	if err := c.wait(); err != nil {
		return model.Transaction{}, err
	}
	return *t, nil
}

// GetReceipt returns a transaction's receipt and, for an uploaded file, its
// bytes.
func (l *Ledger) GetReceipt(id string) (model.Receipt, []byte, error) {
	t, err := l.loadTxn(id)
	if err != nil {
		return model.Receipt{}, nil, err
	}
	if t.Receipt == nil {
		return model.Receipt{}, nil, notFound("receipt_not_found", "receipt for transaction", id)
	}
	if t.Receipt.URL != "" {
		return *t.Receipt, nil, nil
	}
	data, err := l.db.Get(keyspace.ReceiptKey(id))
	if err != nil {
		return model.Receipt{}, nil, err
	}
	return *t.Receipt, data, nil
}

// DeleteReceipt removes a transaction's receipt.
func (l *Ledger) DeleteReceipt(ctx context.Context, id string) (model.Transaction, error) {
	now := l.clock.Now()
	s, t, err := l.lockTxn(id)
	if err != nil {
		return model.Transaction{}, err
	}
	release := holdShard(s)
	defer release()
	if t.Receipt == nil {
		return model.Transaction{}, notFound("receipt_not_found", "receipt for transaction", id)
	}
	t.Receipt = nil
	t.UpdatedAt = model.Ms(now)
	c := l.begin(now)
	c.kind(RecReceipt)
	c.putTxn(t)
	c.del(keyspace.ReceiptKey(t.ID))
	if err := c.apply(ctx, *t); err != nil {
		return model.Transaction{}, err
	}
	release()
	if err := c.wait(); err != nil {
		return model.Transaction{}, err
	}
	return *t, nil
}

// listFromMemory pages through one of the transaction lists kept in memory
// (txnlists.go), newest first, loading each transaction and keeping those
// keep accepts.
func (l *Ledger) listFromMemory(kind byte, parent string, p ListParams, load func(id string) (model.Transaction, bool, error), keep func(*model.Transaction) bool) (Page[model.Transaction], error) {
	var page Page[model.Transaction]
	cursor, last := p.Cursor, ""
	for {
		ids := l.lists.page(kind, parent, cursor, p.Limit+1)
		if len(ids) == 0 {
			return page, nil
		}
		for _, id := range ids {
			rec, ok, err := load(id)
			if err != nil {
				return page, err
			}
			if !ok || !keep(&rec) {
				continue
			}
			if len(page.Items) == p.Limit {
				page.HasMore, page.Cursor = true, last
				return page, nil
			}
			page.Items = append(page.Items, rec)
			last = id
		}
		cursor = ids[len(ids)-1]
	}
}
