package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Reads and writes of the bulk import (accounts.ImportBatch), which looks
// up a whole batch of rows at once: each lookup is one query whatever the
// number of keys (inKeys), so a batch of 1,000 users costs a handful of
// round trips, and every query keeps one shape in the statement cache.
// (chunks, importChunk keys at a time with padded arguments, is the older
// way; the export still reads with it.)

const importChunk = 100

// inKeys is the condition "col is one of the keys bound at $n" (see
// keysArg), one statement shape for any number of keys: = ANY of a text
// array on PostgreSQL, the elements of a JSON array on SQLite, which has no
// array parameters. Both use col's index.
func (q *Q) inKeys(col string, n int) string {
	if q.dialect == Postgres {
		return col + " = ANY($" + strconv.Itoa(n) + ")"
	}
	return col + " IN (SELECT value FROM json_each($" + strconv.Itoa(n) + "))"
}

// keysArg binds keys for inKeys.
func (q *Q) keysArg(keys []string) any {
	if q.dialect == Postgres {
		return keys
	}
	return encodeJSON(keys)
}

// chunks splits keys into importChunk-sized argument lists (after the
// leading args), padding the last one.
func chunks(keys []string, lead ...any) [][]any {
	var out [][]any
	for start := 0; start < len(keys); start += importChunk {
		end := min(start+importChunk, len(keys))
		args := append([]any{}, lead...)
		for _, k := range keys[start:end] {
			args = append(args, k)
		}
		for i := end - start; i < importChunk; i++ {
			args = append(args, keys[end-1])
		}
		out = append(out, args)
	}
	return out
}

// UsersForImport returns, with memberships (their OrgName left empty), the
// users whose external id is in externalIDs or whose normalized email is
// in emailNorms, each once.
func (q *Q) UsersForImport(ctx context.Context, envID string, externalIDs, emailNorms []string) ([]*User, error) {
	return q.usersForImport(ctx, envID, externalIDs, emailNorms, true)
}

// UsersForImportNoMemberships is UsersForImport without the memberships,
// for callers that only need ids and keys.
func (q *Q) UsersForImportNoMemberships(ctx context.Context, envID string, externalIDs, emailNorms []string) ([]*User, error) {
	return q.usersForImport(ctx, envID, externalIDs, emailNorms, false)
}

func (q *Q) usersForImport(ctx context.Context, envID string, externalIDs, emailNorms []string, attach bool) ([]*User, error) {
	var out []*User
	seen := map[string]bool{}
	for _, col := range []struct {
		name string
		keys []string
	}{{"external_id", externalIDs}, {"email_norm", emailNorms}} {
		if len(col.keys) == 0 {
			continue
		}
		rows, err := q.query(ctx, `SELECT `+userColumns+` FROM users WHERE env_id = $1 AND `+q.inKeys(col.name, 2),
			envID, q.keysArg(col.keys))
		if err != nil {
			return nil, mapErr(err)
		}
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			if !seen[u.ID] {
				seen[u.ID] = true
				out = append(out, u)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapErr(err)
		}
	}
	if attach && len(out) > 0 {
		if err := q.attachImportMemberships(ctx, envID, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// attachImportMemberships is attachMemberships for a batch of users, in two
// queries whatever their number.
func (q *Q) attachImportMemberships(ctx context.Context, envID string, users []*User) error {
	ids := make([]string, len(users))
	byUser := make(map[string]*User, len(users))
	for i, u := range users {
		ids[i] = u.ID
		u.Memberships = []*Membership{}
		byUser[u.ID] = u
	}
	args := []any{envID, q.keysArg(ids)}
	// OrgName is left empty: the import does not need it, and without the
	// join the planner cannot be tempted to walk organizations.
	rows, err := q.query(ctx, `SELECT m.org_id, m.user_id, m.status, m.metadata, m.inviter_email, m.created_at,
		m.updated_at, m.accepted_at, m.expires_at, m.resent_at, m.resent_count
		FROM memberships m
		WHERE m.env_id = $1 AND `+q.inKeys("m.user_id", 2)+` ORDER BY m.user_id, m.created_at, m.org_id`, args...)
	if err != nil {
		return mapErr(err)
	}
	index, err := collectMemberships(rows, envID, byUser, false)
	if err != nil {
		return err
	}
	return q.attachMembershipRoles(ctx, index, q.inKeys("mr.user_id", 2), args)
}

// OrganizationsByExternalIDs returns the organizations with these external
// ids, by external id.
func (q *Q) OrganizationsByExternalIDs(ctx context.Context, envID string, externalIDs []string) (map[string]*Organization, error) {
	out := map[string]*Organization{}
	if len(externalIDs) == 0 {
		return out, nil
	}
	rows, err := q.query(ctx, `SELECT `+orgColumns+` FROM organizations WHERE env_id = $1 AND `+q.inKeys("external_id", 2),
		envID, q.keysArg(externalIDs))
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		out[*o.ExternalID] = o
	}
	return out, mapErr(rows.Err())
}

// ScopedRole is a role with the scope it belongs to: OrgID is "" for an
// environment role.
type ScopedRole struct {
	RoleRef
	OrgID string
}

// RolesForImport returns the environment's roles and the own roles of the
// listed organizations.
func (q *Q) RolesForImport(ctx context.Context, envID string, orgIDs []string) ([]ScopedRole, error) {
	var out []ScopedRole
	scan := func(rows *sql.Rows, err error) error {
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			var r ScopedRole
			if err := rows.Scan(&r.ID, &r.Name, &r.DisplayName, &r.OrgID); err != nil {
				return mapErr(err)
			}
			out = append(out, r)
		}
		return mapErr(rows.Err())
	}
	if err := scan(q.query(ctx, `SELECT id, name, display_name, org_id FROM roles WHERE env_id = $1 AND org_id = ''`, envID)); err != nil {
		return nil, err
	}
	if len(orgIDs) > 0 {
		if err := scan(q.query(ctx, `SELECT id, name, display_name, org_id FROM roles WHERE env_id = $1 AND `+
			q.inKeys("org_id", 2), envID, q.keysArg(orgIDs))); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DefaultMemberRolesForImport returns the default member roles set for the
// environment (key "") and for each listed organization that has its own.
func (q *Q) DefaultMemberRolesForImport(ctx context.Context, envID string, orgIDs []string) (map[string]RoleRef, error) {
	out := map[string]RoleRef{}
	scan := func(rows *sql.Rows, err error) error {
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			var org string
			var r RoleRef
			if err := rows.Scan(&org, &r.ID, &r.Name, &r.DisplayName); err != nil {
				return mapErr(err)
			}
			out[org] = r
		}
		return mapErr(rows.Err())
	}
	const sel = `SELECT d.org_id, r.id, r.name, r.display_name FROM role_defaults d JOIN roles r ON r.id = d.role_id
		WHERE d.env_id = $1 AND d.kind = 'member' AND `
	if err := scan(q.query(ctx, sel+`d.org_id = ''`, envID)); err != nil {
		return nil, err
	}
	if len(orgIDs) > 0 {
		if err := scan(q.query(ctx, sel+q.inKeys("d.org_id", 2), envID, q.keysArg(orgIDs))); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UserImport records that a user arrived through an import, and which
// password hash was last imported for them (migration 00006).
type UserImport struct {
	EnvID      string
	UserID     string
	HashSource string // see 00006_import.sql; "" when no hash was imported
	HashFormat string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// UserImports returns the import records of the listed users, by user id.
func (q *Q) UserImports(ctx context.Context, envID string, userIDs []string) (map[string]UserImport, error) {
	out := map[string]UserImport{}
	if len(userIDs) == 0 {
		return out, nil
	}
	rows, err := q.query(ctx, `SELECT user_id, hash_source, hash_format, created_at, updated_at FROM user_imports
		WHERE env_id = $1 AND `+q.inKeys("user_id", 2), envID, q.keysArg(userIDs))
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		ui := UserImport{EnvID: envID}
		var c, u int64
		if err := rows.Scan(&ui.UserID, &ui.HashSource, &ui.HashFormat, &c, &u); err != nil {
			return nil, mapErr(err)
		}
		ui.CreatedAt, ui.UpdatedAt = fromMicros(c), fromMicros(u)
		out[ui.UserID] = ui
	}
	return out, mapErr(rows.Err())
}

// PutUserImport inserts or replaces a user's import record (created_at is
// kept from the first one).
func (q *Q) PutUserImport(ctx context.Context, ui UserImport) error {
	_, err := q.exec(ctx, `INSERT INTO user_imports (user_id, env_id, hash_source, hash_format, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id) DO UPDATE SET hash_source = excluded.hash_source, hash_format = excluded.hash_format,
		updated_at = excluded.updated_at`,
		ui.UserID, ui.EnvID, ui.HashSource, ui.HashFormat, micros(ui.CreatedAt), micros(ui.UpdatedAt))
	return mapErr(err)
}

// PutImportedPasswordHash stores (or replaces) a user's password hash in
// user_passwords (migration 00005, shared with the hosted login).
func (q *Q) PutImportedPasswordHash(ctx context.Context, envID, userID, hash string, now time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO user_passwords (user_id, env_id, hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
		userID, envID, hash, micros(now))
	return mapErr(err)
}

// IsRetryable reports whether err is a transaction the database aborted
// to break a deadlock or a serialization conflict (PostgreSQL 40P01 and
// 40001), which succeeds when run again.
func IsRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// CreateUsers inserts users (as CreateUser does, each with its normalized
// email) in multi-row statements.
func (q *Q) CreateUsers(ctx context.Context, users []*User, emailNorms []string) error {
	rows := make([][]any, len(users))
	for i, u := range users {
		rows[i] = userArgs(u, emailNorms[i])
	}
	return q.insertMany(ctx, `INSERT INTO users (`+userColumns+`, email_norm)`, userInsertColumns, rows, "")
}

// CreateMemberships inserts memberships and their roles (as
// CreateMembership does) in multi-row statements.
func (q *Q) CreateMemberships(ctx context.Context, ms []*Membership) error {
	rows := make([][]any, len(ms))
	var roles [][]any
	for i, m := range ms {
		rows[i] = []any{m.EnvID, m.OrgID, m.UserID, m.Status, encodeJSON(nonNilMap(m.Metadata)), nullString(m.InviterEmail),
			micros(m.CreatedAt), micros(m.UpdatedAt), nullMicros(m.AcceptedAt), nullMicros(m.ExpiresAt), nullMicros(m.ResentAt), m.ResentCount}
		for _, r := range m.Roles {
			roles = append(roles, []any{m.EnvID, m.OrgID, m.UserID, r.ID})
		}
	}
	if err := q.insertMany(ctx, `INSERT INTO memberships (env_id, org_id, user_id, status, metadata, inviter_email,
		created_at, updated_at, accepted_at, expires_at, resent_at, resent_count)`, 12, rows, ""); err != nil {
		return err
	}
	return q.insertMany(ctx, `INSERT INTO membership_roles (env_id, org_id, user_id, role_id)`, 4, roles, "")
}

// AddEvents appends events to the outbox in multi-row statements.
func (q *Q) AddEvents(ctx context.Context, es []*Event) error {
	rows := make([][]any, len(es))
	for i, e := range es {
		rows[i] = []any{e.ID, e.EnvID, e.Type, e.ObjectID, e.Payload, micros(e.CreatedAt)}
	}
	return q.insertMany(ctx, `INSERT INTO events (id, env_id, type, object_id, payload, created_at)`, 6, rows, "")
}

// PasswordHashRow is one user's password hash to store.
type PasswordHashRow struct {
	UserID, Hash string
}

// PutImportedPasswordHashes is PutImportedPasswordHash for many users
// (each at most once).
func (q *Q) PutImportedPasswordHashes(ctx context.Context, envID string, hs []PasswordHashRow, now time.Time) error {
	rows := make([][]any, len(hs))
	for i, h := range hs {
		rows[i] = []any{h.UserID, envID, h.Hash, micros(now), micros(now)}
	}
	return q.insertMany(ctx, `INSERT INTO user_passwords (user_id, env_id, hash, created_at, updated_at)`, 5, rows,
		` ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`)
}

// PutUserImports is PutUserImport for many users (each at most once).
func (q *Q) PutUserImports(ctx context.Context, uis []UserImport) error {
	rows := make([][]any, len(uis))
	for i, ui := range uis {
		rows[i] = []any{ui.UserID, ui.EnvID, ui.HashSource, ui.HashFormat, micros(ui.CreatedAt), micros(ui.UpdatedAt)}
	}
	return q.insertMany(ctx, `INSERT INTO user_imports (user_id, env_id, hash_source, hash_format, created_at, updated_at)`, 6, rows,
		` ON CONFLICT (user_id) DO UPDATE SET hash_source = excluded.hash_source, hash_format = excluded.hash_format,
		updated_at = excluded.updated_at`)
}

// analyzedTables are the tables a bulk import grows.
var analyzedTables = []string{"organizations", "users", "memberships", "membership_roles", "roles", "user_passwords", "user_imports", "events"}

// AnalyzeIfStale refreshes PostgreSQL's planner statistics of the tables a
// bulk import grows, for each that has changed by more than half (and
// 100 rows) since its last ANALYZE. Autovacuum gets there too, but only
// after its nap, and meanwhile a planner that still believes users holds
// a few rows scans all of it for every lookup of the next batches. SQLite
// needs nothing: without statistics it prefers the unique indexes.
func (s *Store) AnalyzeIfStale(ctx context.Context) error {
	if s.dialect != Postgres {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT relname FROM pg_stat_user_tables
		WHERE schemaname = current_schema() AND relname = ANY($1)
		AND n_mod_since_analyze > GREATEST(100, n_live_tup / 2)`, analyzedTables)
	if err != nil {
		return mapErr(err)
	}
	var stale []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return mapErr(err)
		}
		stale = append(stale, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return mapErr(err)
	}
	for _, t := range stale {
		if _, err := s.db.ExecContext(ctx, `ANALYZE `+t); err != nil { // t is one of analyzedTables
			return mapErr(err)
		}
	}
	return nil
}
