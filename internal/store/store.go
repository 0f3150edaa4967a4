// Package store is Gatehouse's storage: one SQL schema and one set of queries
// that run unchanged on SQLite (the embedded default) and PostgreSQL.
//
// Queries are written once in PostgreSQL's dialect with $n placeholders,
// which modernc.org/sqlite also binds by number. Times are written from the
// caller's clock, never the database's. Every method takes the environment id
// first and every WHERE clause filters on it, so one tenant can never read
// another's rows. Uniqueness is left to the database's constraints (no
// check-then-insert), and a violation comes back as an *ErrConflict naming
// the field.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when no row matches.
var ErrNotFound = errors.New("not found")

// ErrConflict reports a unique constraint violation on a named field.
type ErrConflict struct {
	Field string // the API field that must be unique, e.g. "external_id"
}

func (e *ErrConflict) Error() string { return e.Field + " already exists" }

// Dialect names the SQL database behind a Store.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is a handle on the database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	// writeMu queues this process's SQLite write transactions in Go. SQLite
	// allows one writer; without the queue, waiting writers sleep in
	// SQLite's busy handler with growing back-off and throughput collapses
	// under concurrent load. busy_timeout still covers other processes.
	writeMu sync.Mutex
	stmts   stmtCache
	ckpt    *checkpointer // SQLite only (checkpoint.go)
}

// Open connects to the database named by dsn and applies pending migrations.
// A dsn starting with postgres:// or postgresql:// selects PostgreSQL;
// anything else is a SQLite file path (created if missing).
func Open(ctx context.Context, dsn string) (*Store, error) {
	s, err := open(dsn)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.db.PingContext(pingCtx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("cannot reach the %s database: %w", s.dialect, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if s.dialect == SQLite {
		s.ckpt = startCheckpointer(s.db, checkpointInterval)
	}
	return s, nil
}

func open(dsn string) (*Store, error) {
	if IsPostgresURL(dsn) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("bad PostgreSQL URL: %w", err)
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		s := &Store{db: db, dialect: Postgres}
		s.stmts.db = db
		return s, nil
	}
	path := strings.TrimPrefix(dsn, "sqlite://")
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create the data directory: %w", err)
		}
	}
	// WAL lets readers run beside the single writer; BEGIN IMMEDIATE takes the
	// write lock up front so two writers queue on busy_timeout instead of
	// failing with SQLITE_BUSY when they upgrade.
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	// Statement journals (which undo one statement of a transaction that
	// fails) in memory rather than temporary files: a multi-row INSERT of
	// the bulk import otherwise spends a tenth of its time writing one.
	// Durability is the WAL's, not theirs, so nothing is weakened.
	q.Add("_pragma", "temp_store(MEMORY)")
	// A 64 MiB page cache per connection (SQLite's default is 2 MiB): a
	// bulk import batch touches index pages all over memberships and
	// membership_roles, and with the default cache the writer spills dirty
	// pages to the WAL mid-transaction and reads them back. Pages are
	// allocated as they are used, so idle connections stay small.
	q.Add("_pragma", "cache_size(-65536)")
	// Checkpoint every 10,000 WAL pages (40 MiB) instead of 1,000: a bulk
	// import's batch writes about a thousand pages, so the default copied
	// the WAL back (and synced the file) after nearly every batch, and
	// pages written again by the next batches were copied each time.
	// Mostly the checkpointer (checkpoint.go) gets there first, outside
	// the write lock; this is its safety net.
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	s := &Store{db: db, dialect: SQLite}
	s.stmts.db = db
	return s, nil
}

// IsPostgresURL reports whether dsn selects PostgreSQL.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func (s *Store) migrate(ctx context.Context) error {
	p, err := migrationProvider(s.db, s.dialect)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	if err != nil && s.dialect == SQLite {
		_, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// migrationProvider is goose over the embedded migrations for db, with
// SQLite's own versions of the migrations it runs differently
// (migrate_sqlite.go).
func migrationProvider(db *sql.DB, dialect Dialect) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	d := goose.DialectSQLite3
	if dialect == Postgres {
		d = goose.DialectPostgres
	}
	// Several nodes may start at once on a fresh PostgreSQL: a session
	// advisory lock lets one migrate while the others wait. SQLite has one
	// writer anyway; a start that lost the race simply finds nothing to do
	// on a second pass.
	var opts []goose.ProviderOption
	if dialect == Postgres {
		l, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 120))
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(l))
	} else {
		opts = append(opts, sqliteMigrations()...)
	}
	p, err := goose.NewProvider(d, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Dialect reports which database the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close releases the database.
func (s *Store) Close() error {
	if s.ckpt != nil {
		s.ckpt.close()
	}
	s.stmts.close()
	return s.db.Close()
}

// Ping checks the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// DB exposes the handle for tests that must inspect stored rows directly
// (hashes at rest, for example).
func (s *Store) DB() *sql.DB { return s.db }

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Q runs queries, either directly on the database or inside a transaction.
// Every data method lives on Q so the same code serves both.
type Q struct {
	q       querier
	tx      *sql.Tx // set inside Tx
	dialect Dialect
	stmts   *stmtCache
}

// Q returns a Q that runs each query on its own.
func (s *Store) Q() *Q { return &Q{q: s.db, dialect: s.dialect, stmts: &s.stmts} }

// LockBootstrap serializes first-start work (creating the environment, its
// first key and client) between nodes starting at once on one PostgreSQL.
// It must run inside Tx; the lock is released at commit or rollback.
// SQLite transactions already take the single write lock at BEGIN.
func (q *Q) LockBootstrap(ctx context.Context) error {
	if q.dialect != Postgres {
		return nil
	}
	_, err := q.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7242013)`)
	return mapErr(err)
}

// Tx runs fn inside one transaction: it commits if fn returns nil and rolls
// back otherwise, so a failed request leaves nothing half-written.
func (s *Store) Tx(ctx context.Context, fn func(q *Q) error) error {
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", mapErr(err))
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback() // never leave SQLite's write lock held
			panic(p)
		}
	}()
	if err := fn(&Q{q: tx, tx: tx, dialect: s.dialect, stmts: &s.stmts}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	if s.ckpt != nil {
		s.ckpt.committed()
	}
	return nil
}

// constraintFields maps unique constraints to the API field they protect.
var constraintFields = map[string]string{
	"organizations_external_id": "external_id",
	"users_external_id":         "external_id",
	"users_email":               "email",
	"roles_name":                "name",
	"memberships_pkey":          "membership",
	"membership_roles_pkey":     "roles",
	"permissions_name":          "name",
	"role_permissions_pkey":     "permissions",
}

// sqliteColumnsFields maps SQLite's "UNIQUE constraint failed: t.a, t.b"
// column lists (which name columns, not constraints) to API fields.
var sqliteColumnsFields = map[string]string{
	"organizations.env_id, organizations.external_id":                             "external_id",
	"users.env_id, users.external_id":                                             "external_id",
	"users.env_id, users.email_norm":                                              "email",
	"roles.env_id, roles.org_id, roles.name":                                      "name",
	"memberships.org_id, memberships.user_id":                                     "membership",
	"membership_roles.org_id, membership_roles.user_id, membership_roles.role_id": "roles",
	"membership_roles.user_id, membership_roles.org_id, membership_roles.role_id": "roles", // 00011 on SQLite
	"permissions.env_id, permissions.name":                                        "name",
	"role_permissions.role_id, role_permissions.permission_id":                    "permissions",
}

// mapErr turns driver errors into the package's sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		if f, ok := constraintFields[pgErr.ConstraintName]; ok {
			return &ErrConflict{Field: f}
		}
		return &ErrConflict{Field: pgErr.ConstraintName}
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) && (sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		msg := sqErr.Error()
		if i := strings.LastIndex(msg, "failed: "); i >= 0 {
			cols := msg[i+len("failed: "):]
			if j := strings.Index(cols, " ("); j >= 0 {
				cols = cols[:j]
			}
			if f, ok := sqliteColumnsFields[cols]; ok {
				return &ErrConflict{Field: f}
			}
			return &ErrConflict{Field: cols}
		}
	}
	return err
}

// micros converts a time to the stored form.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back; zero stays the zero time.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

func ptrString(ns sql.NullString) *string {
	if !ns.Valid {
		return nil
	}
	v := ns.String
	return &v
}
