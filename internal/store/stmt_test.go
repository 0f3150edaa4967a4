package store

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestStmtCacheDialects: on SQLite the store prepares each query once
// through its own cache, inside transactions and out; on PostgreSQL it
// runs queries directly (pgx keeps them prepared per connection), so its
// cache stays empty, and a query's result is the same either way.
func TestStmtCacheDialects(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		const query = `SELECT COUNT(*) FROM environments WHERE id = $1`
		count := func(q *Q) int {
			t.Helper()
			var n int
			if err := q.queryRow(ctx, query, "env_none").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(s.Q()); n != 0 {
			t.Errorf("outside a transaction: %d", n)
		}
		if err := s.Tx(ctx, func(q *Q) error {
			if n := count(q); n != 0 {
				t.Errorf("inside a transaction: %d", n)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		s.stmts.mu.Lock()
		_, cached := s.stmts.m[query]
		s.stmts.mu.Unlock()
		if want := s.dialect == SQLite; cached != want {
			t.Errorf("%s: query in the store's statement cache = %v, want %v", s.dialect, cached, want)
		}
	})
}
