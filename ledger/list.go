package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ledgersim/ledgersim/store"
)

// Page is one page of a list, newest first. Cursor is the ID of the last
// item when HasMore, and the next page starts after it.
type Page[T any] struct {
	Items   []T
	HasMore bool
	Cursor  string
}

// ListParams select a page.
type ListParams struct {
	Limit  int    // 1..100
	Cursor string // the previous page's Cursor, or ""
}

// listRecords pages through the records under prefix, newest first,
// decoding each with decode (nil: JSON) and keeping those that keep
// accepts (nil keeps all).
func listRecords[T any](db *store.DB, prefix []byte, p ListParams, decode func([]byte, *T) error, keep func(*T) bool, idOf func(*T) string) (Page[T], error) {
	if decode == nil {
		decode = func(v []byte, rec *T) error { return json.Unmarshal(v, rec) }
	}
	var page Page[T]
	var decodeErr error
	err := db.Scan(prefix, p.Cursor, true, func(k, v []byte) bool {
		rec := new(T)
		if err := decode(v, rec); err != nil {
			decodeErr = fmt.Errorf("ledger: corrupt record under %s: %w", prefix, err)
			return false
		}
		if keep != nil && !keep(rec) {
			return true
		}
		if len(page.Items) == p.Limit {
			page.HasMore = true
			return false
		}
		page.Items = append(page.Items, *rec)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if page.HasMore && len(page.Items) > 0 {
		page.Cursor = idOf(&page.Items[len(page.Items)-1])
	}
	return page, err
}

// listIndexed pages through an index (prefix names the parent), newest
// first, loading each child with load. Children that load reports missing
// are skipped.
func listIndexed[T any](db *store.DB, prefix []byte, p ListParams, load func(id string) (T, bool, error), keep func(*T) bool) (Page[T], error) {
	var page Page[T]
	var loadErr error
	last := ""
	err := db.Scan(prefix, p.Cursor, true, func(k, _ []byte) bool {
		id := string(bytes.TrimPrefix(k, prefix))
		rec, ok, err := load(id)
		if err != nil {
			loadErr = err
			return false
		}
		if !ok || (keep != nil && !keep(&rec)) {
			return true
		}
		if len(page.Items) == p.Limit {
			page.HasMore = true
			return false
		}
		page.Items = append(page.Items, rec)
		last = id
		return true
	})
	if err == nil {
		err = loadErr
	}
	if page.HasMore {
		page.Cursor = last
	}
	return page, err
}
