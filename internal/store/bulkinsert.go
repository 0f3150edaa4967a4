package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Multi-row inserts for the bulk import (bulkimport.go): a batch of 1,000
// users writes each table in a few statements rather than a thousand.

// insertMany inserts rows of ncols values each with head ("INSERT INTO t
// (a, b)") and tail (an ON CONFLICT clause, or ""): on PostgreSQL in one
// statement of column arrays (insertUnnest), on SQLite in multi-row VALUES
// statements (insertValues).
func (q *Q) insertMany(ctx context.Context, head string, ncols int, rows [][]any, tail string) error {
	if len(rows) == 0 {
		return nil
	}
	if q.dialect == Postgres {
		return q.insertUnnest(ctx, head, ncols, rows, tail)
	}
	return q.insertValues(ctx, head, ncols, rows, tail)
}

// insertValues runs multi-row VALUES statements of 1024, 256, 64, 16, 4 or
// 1 rows: a batch of 1,000 rows takes about ten statements, and each table
// has at most six statement shapes in the cache. A statement stays under
// SQLite's 32,766 parameters.
func (q *Q) insertValues(ctx context.Context, head string, ncols int, rows [][]any, tail string) error {
	for len(rows) > 0 {
		n := 1024
		for n > len(rows) || n*ncols > 32766 {
			n /= 4
		}
		args := make([]any, 0, n*ncols)
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := q.exec(ctx, valuesStatement(head, ncols, n, tail), args...); err != nil {
			return mapErr(err)
		}
		rows = rows[n:]
	}
	return nil
}

// valuesStatement is head VALUES (?, ...), ... tail for n rows of ncols.
// The placeholders are anonymous ("?", numbered in order): modernc's
// binding looks a named parameter ($n) up in a list for each parameter,
// which is quadratic in the parameters of a statement.
func valuesStatement(head string, ncols, n int, tail string) string {
	row := "(?" + strings.Repeat(", ?", ncols-1) + ")"
	var b strings.Builder
	b.Grow(len(head) + len(tail) + 8 + n*(len(row)+2))
	b.WriteString(head)
	b.WriteString(" VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	return b.String()
}

// insertUnnest inserts all rows in one statement, head SELECT * FROM
// unnest($1::text[], $2::bigint[], ...) tail, each parameter an array of
// one column's values. It is one round trip and one statement shape per
// table whatever the number of rows, and PostgreSQL decodes ncols arrays
// rather than binding rows×ncols parameters.
func (q *Q) insertUnnest(ctx context.Context, head string, ncols int, rows [][]any, tail string) error {
	args := make([]any, ncols)
	casts := make([]string, ncols)
	for j := 0; j < ncols; j++ {
		var err error
		if args[j], casts[j], err = column(rows, j); err != nil {
			return fmt.Errorf("%s: %w", head, err)
		}
	}
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(" SELECT * FROM unnest(")
	for j, c := range casts {
		if j > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(j+1) + "::" + c + "[]")
	}
	b.WriteString(")")
	b.WriteString(tail)
	_, err := q.exec(ctx, b.String(), args...)
	return mapErr(err)
}

// column gathers column j of rows into a typed slice for pgx to send as an
// array, and names its PostgreSQL element type. A column's values all have
// the Go type the store's argument builders give it; NULLs are nil
// pointers.
func column(rows [][]any, j int) (any, string, error) {
	switch rows[0][j].(type) {
	case string:
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = r[j].(string)
		}
		return out, "text", nil
	case bool:
		out := make([]bool, len(rows))
		for i, r := range rows {
			out[i] = r[j].(bool)
		}
		return out, "boolean", nil
	case int64, int32, int:
		out := make([]int64, len(rows))
		for i, r := range rows {
			out[i] = toInt64(r[j])
		}
		return out, "bigint", nil
	case sql.NullString:
		out := make([]*string, len(rows))
		for i, r := range rows {
			if v := r[j].(sql.NullString); v.Valid {
				out[i] = &v.String
			}
		}
		return out, "text", nil
	case sql.NullInt64:
		out := make([]*int64, len(rows))
		for i, r := range rows {
			if v := r[j].(sql.NullInt64); v.Valid {
				out[i] = &v.Int64
			}
		}
		return out, "bigint", nil
	}
	return nil, "", fmt.Errorf("store: column %d: no array type for %T", j, rows[0][j])
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	}
	panic(fmt.Sprintf("store: %T in an integer column", v))
}
