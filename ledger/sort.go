package ledger

import "sort"

func sortByIDDesc[T any](items []T, id func(*T) string) {
	sort.Slice(items, func(i, j int) bool { return id(&items[i]) > id(&items[j]) })
}
