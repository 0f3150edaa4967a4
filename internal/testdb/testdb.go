// Package testdb gives tests their own databases: a fresh SQLite file, and a
// uniquely named PostgreSQL database made on the server named by
// GATEHOUSE_TEST_POSTGRES_URL and dropped when the test ends, so runs never
// see each other's data.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the admin connection
)

// Strict reports whether GATEHOUSE_TEST_STRICT asks that suites fail rather
// than skip when a tool or service they need is missing.
func Strict() bool { return os.Getenv("GATEHOUSE_TEST_STRICT") == "1" }

// SkipOrFail skips t, or fails it in strict mode.
func SkipOrFail(t testing.TB, why string) {
	t.Helper()
	if Strict() {
		t.Fatalf("GATEHOUSE_TEST_STRICT=1 and %s", why)
	}
	t.Skip(why)
}

// SQLite returns the DSN of a new SQLite database in t's temp dir.
func SQLite(t testing.TB) string {
	return filepath.Join(t.TempDir(), "gatehouse.db")
}

// Postgres returns the URL of a new, empty PostgreSQL database, dropped at
// the end of t. Without GATEHOUSE_TEST_POSTGRES_URL it skips (fails when
// strict).
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	if base == "" {
		SkipOrFail(t, "GATEHOUSE_TEST_POSTGRES_URL is not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "gatehouse_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Each runs fn once per database kind, as subtests named "sqlite" and
// "postgres".
func Each(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}
