package store

// Page selects a slice of a list by keyset: rows whose id sorts after
// AfterID, at most Limit of them. Ids are time-ordered, so a page boundary
// never moves when rows are inserted concurrently: new rows land at the end.
type Page struct {
	AfterID string
	Limit   int
}

// Result is one page of a list plus the count of the whole list.
type Result[T any] struct {
	Items []T
	Total int
	// More is true when rows remain after this page.
	More bool
}

// normalize makes a Limit below 1 mean one row, so a caller can never loop
// on empty pages or slice out of range.
func (p Page) normalize() Page {
	if p.Limit < 1 {
		p.Limit = 1
	}
	return p
}

// trim cuts a Limit+1 query result down to Limit, recording whether more remain.
func trim[T any](items []T, limit int) ([]T, bool) {
	if len(items) > limit {
		return items[:limit], true
	}
	return items, false
}
