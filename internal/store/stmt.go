package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps one prepared statement per query text, on SQLite (on
// PostgreSQL the driver does it: see stmt). Parsing SQL is a large share
// of a short query's cost (the SQLite driver is transpiled C), and the
// store's query texts are a small fixed set, so each is prepared once per
// connection and reused. Queries built with a variable number of
// placeholders are few and bounded in shape, so the cache stays small.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m = nil
}

// stmt returns the cached statement for query, bound to the transaction
// when q runs in one; nil if it cannot be prepared (the caller then runs
// the query unprepared, which reports the error).
//
// On PostgreSQL it is always nil: the pgx driver already keeps each query
// prepared per connection (its default statement cache, keyed by the query
// text), so a *sql.Stmt only adds database/sql's own bookkeeping on top -
// a statement per connection to find under a lock and, in a transaction,
// one more *sql.Stmt allocated and closed per query (tx.StmtContext). Run
// directly, the query is parsed and planned by the server just as rarely.
func (q *Q) stmt(ctx context.Context, query string) *sql.Stmt {
	if q.dialect == Postgres {
		return nil
	}
	st, err := q.stmts.get(ctx, query)
	if err != nil {
		return nil
	}
	if q.tx != nil {
		return q.tx.StmtContext(ctx, st)
	}
	return st
}

func (q *Q) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.q.ExecContext(ctx, query, args...)
}

func (q *Q) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.q.QueryContext(ctx, query, args...)
}

func (q *Q) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.q.QueryRowContext(ctx, query, args...)
}
