package store

import (
	"context"
	"database/sql"
	"time"
)

// User is a person who can sign in. Memberships are loaded alongside by the
// methods that return users.
type User struct {
	ID                string
	EnvID             string
	Email             string
	EmailVerified     bool
	ExternalID        *string
	GivenName         string
	FamilyName        string
	Name              string
	Locale            string
	PhoneNumber       string
	PreferredUsername string
	Picture           string
	Gender            string
	Groups            []string
	Metadata          map[string]string
	ProfileMetadata   map[string]string
	CustomAttributes  map[string]string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	LastLoginAt       time.Time
	// Origin says how the user arrived (one of the Origin constants) and
	// MigratedAt when, for imported and lazily migrated users. CreateUser
	// writes them; afterwards only MarkMigrated changes them (UpdateUser
	// leaves them alone, so no caller can clear them by accident).
	Origin     string
	MigratedAt time.Time

	Memberships []*Membership
}

// How a user arrived (users.origin, migration 00008).
const (
	OriginNative       = ""               // created on the login page or through the API
	OriginImportHash   = "import_hash"    // bulk-imported with a password hash
	OriginImportNoHash = "import_no_hash" // bulk-imported without a password hash
	OriginLazy         = "lazy"           // password verified by the legacy endpoint at login
)

const userColumns = `id, env_id, email, email_verified, external_id, given_name, family_name, name, locale, phone_number,
	preferred_username, picture, gender, groups_json, metadata, profile_metadata, custom_attributes, created_at, updated_at, last_login_at,
	origin, migrated_at`

// userInsertColumns is the number of values userArgs gives: userColumns and
// email_norm.
const userInsertColumns = 23

func scanUser(sc interface{ Scan(...any) error }) (*User, error) {
	var u User
	var ext sql.NullString
	var groups, meta, pmeta, attrs string
	var created, updated int64
	var lastLogin, migrated sql.NullInt64
	if err := sc.Scan(&u.ID, &u.EnvID, &u.Email, &u.EmailVerified, &ext, &u.GivenName, &u.FamilyName, &u.Name, &u.Locale,
		&u.PhoneNumber, &u.PreferredUsername, &u.Picture, &u.Gender, &groups, &meta, &pmeta, &attrs, &created, &updated, &lastLogin,
		&u.Origin, &migrated); err != nil {
		return nil, mapErr(err)
	}
	u.ExternalID = ptrString(ext)
	u.Groups = decodeList(groups)
	u.Metadata, u.ProfileMetadata, u.CustomAttributes = decodeMap(meta), decodeMap(pmeta), decodeMap(attrs)
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromMicros(created), fromMicros(updated), fromMicros(lastLogin.Int64)
	u.MigratedAt = fromMicros(migrated.Int64)
	return &u, nil
}

func userArgs(u *User, emailNorm string) []any {
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	return []any{u.ID, u.EnvID, u.Email, u.EmailVerified, nullString(u.ExternalID), u.GivenName, u.FamilyName, u.Name, u.Locale,
		u.PhoneNumber, u.PreferredUsername, u.Picture, u.Gender, encodeJSON(groups), encodeJSON(nonNilMap(u.Metadata)),
		encodeJSON(nonNilMap(u.ProfileMetadata)), encodeJSON(nonNilMap(u.CustomAttributes)), micros(u.CreatedAt),
		micros(u.UpdatedAt), nullMicros(u.LastLoginAt), u.Origin, nullMicros(u.MigratedAt), emailNorm}
}

// CreateUser inserts u. emailNorm is the normalized email that must be
// unique in the environment.
func (q *Q) CreateUser(ctx context.Context, u *User, emailNorm string) error {
	_, err := q.exec(ctx, `INSERT INTO users (`+userColumns+`, email_norm)
		VALUES (`+placeholders(1, userInsertColumns)+`)`, userArgs(u, emailNorm)...)
	return mapErr(err)
}

// UpdateUser writes every mutable field of u.
func (q *Q) UpdateUser(ctx context.Context, u *User, emailNorm string) error {
	a := userArgs(u, emailNorm)
	// All but created_at, which never changes, and origin and migrated_at,
	// which are MarkMigrated's.
	args := append(append(a[:17:17], a[18:20]...), a[22])
	res, err := q.exec(ctx, `UPDATE users SET email = $3, email_verified = $4, external_id = $5, given_name = $6,
		family_name = $7, name = $8, locale = $9, phone_number = $10, preferred_username = $11, picture = $12, gender = $13,
		groups_json = $14, metadata = $15, profile_metadata = $16, custom_attributes = $17, updated_at = $18,
		last_login_at = $19, email_norm = $20
		WHERE env_id = $2 AND id = $1`, args...)
	return mustAffect(res, err)
}

// GetUser reads one user, with memberships, by id.
func (q *Q) GetUser(ctx context.Context, envID, id string) (*User, error) {
	return q.getUserWhere(ctx, envID, `id = $2`, id)
}

// GetUserByExternalID reads one user, with memberships, by the caller's key.
func (q *Q) GetUserByExternalID(ctx context.Context, envID, externalID string) (*User, error) {
	return q.getUserWhere(ctx, envID, `external_id = $2`, externalID)
}

// GetUserByEmail reads one user by normalized email.
func (q *Q) GetUserByEmail(ctx context.Context, envID, emailNorm string) (*User, error) {
	return q.getUserWhere(ctx, envID, `email_norm = $2`, emailNorm)
}

func (q *Q) getUserWhere(ctx context.Context, envID, cond string, arg string) (*User, error) {
	u, err := scanUser(q.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE env_id = $1 AND `+cond, envID, arg))
	if err != nil {
		return nil, err
	}
	if err := q.attachMemberships(ctx, envID, []*User{u}); err != nil {
		return nil, err
	}
	return u, nil
}

// DeleteUser removes a user and, by cascade, their memberships.
func (q *Q) DeleteUser(ctx context.Context, envID, id string) error {
	if _, err := q.exec(ctx, `DELETE FROM membership_roles WHERE env_id = $1 AND user_id = $2`, envID, id); err != nil {
		return mapErr(err)
	}
	if _, err := q.exec(ctx, `DELETE FROM memberships WHERE env_id = $1 AND user_id = $2`, envID, id); err != nil {
		return mapErr(err)
	}
	res, err := q.exec(ctx, `DELETE FROM users WHERE env_id = $1 AND id = $2`, envID, id)
	return mustAffect(res, err)
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	OrgID string // only members of this organization
	Query string // case-insensitive substring of email, names, external id or id
}

// ListUsers returns a page of users, with memberships, in id order.
func (q *Q) ListUsers(ctx context.Context, envID string, f UserFilter, p Page) (Result[*User], error) {
	from, where, args := `users u`, `u.env_id = $1`, []any{envID}
	if f.OrgID != "" {
		from = `users u JOIN memberships m ON m.user_id = u.id AND m.env_id = u.env_id`
		args = append(args, f.OrgID)
		where += ` AND m.org_id = $` + itoa(len(args))
	}
	if f.Query != "" {
		args = append(args, likePattern(f.Query))
		n := `$` + itoa(len(args))
		where += ` AND (lower(u.email) LIKE ` + n + ` ESCAPE '\' OR lower(u.given_name) LIKE ` + n + ` ESCAPE '\'` +
			` OR lower(u.family_name) LIKE ` + n + ` ESCAPE '\' OR lower(u.name) LIKE ` + n + ` ESCAPE '\'` +
			` OR lower(COALESCE(u.external_id, '')) LIKE ` + n + ` ESCAPE '\' OR lower(u.id) LIKE ` + n + ` ESCAPE '\')`
	}
	p = p.normalize()
	var out Result[*User]
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM `+from+` WHERE `+where, args...).Scan(&out.Total); err != nil {
		return out, mapErr(err)
	}
	n := len(args)
	args = append(args, p.AfterID, p.Limit+1)
	rows, err := q.query(ctx, `SELECT u.`+prefixCols(userColumns, "u.")+` FROM `+from+` WHERE `+where+
		` AND u.id > $`+itoa(n+1)+` ORDER BY u.id LIMIT $`+itoa(n+2), args...)
	if err != nil {
		return out, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, u)
	}
	if err := rows.Err(); err != nil {
		return out, mapErr(err)
	}
	rows.Close()
	out.Items, out.More = trim(out.Items, p.Limit)
	return out, q.attachMemberships(ctx, envID, out.Items)
}

// MarkMigrated records that a user arrived by origin at the time at (the
// lazy migration: the legacy endpoint verified their password).
func (q *Q) MarkMigrated(ctx context.Context, envID, userID, origin string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE users SET origin = $3, migrated_at = $4 WHERE env_id = $1 AND id = $2`,
		envID, userID, origin, micros(at))
	return mustAffect(res, err)
}

// OriginCount is the migration status of the users of one origin.
type OriginCount struct {
	Origin string
	Users  int64
	// SignedInSince counts those whose last login is at or after their
	// migration (MigratedAt); for native users, those who ever signed in.
	SignedInSince int64
	// NoPasswordNotSignedIn counts those with no stored password who have
	// not signed in since their migration: only the legacy system (through
	// lazy migration) or a password reset can let them in with a password.
	NoPasswordNotSignedIn int64
}

// MigrationCounts returns the environment's users counted by origin, in
// origin order; origins without users are absent.
func (q *Q) MigrationCounts(ctx context.Context, envID string) ([]OriginCount, error) {
	const signedIn = `u.last_login_at IS NOT NULL AND u.last_login_at >= COALESCE(u.migrated_at, 0)`
	rows, err := q.query(ctx, `SELECT u.origin, COUNT(*),
		COALESCE(SUM(CASE WHEN `+signedIn+` THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN p.user_id IS NULL AND NOT (`+signedIn+`) THEN 1 ELSE 0 END), 0)
		FROM users u LEFT JOIN user_passwords p ON p.user_id = u.id AND p.env_id = u.env_id
		WHERE u.env_id = $1 GROUP BY u.origin ORDER BY u.origin`, envID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []OriginCount
	for rows.Next() {
		var c OriginCount
		if err := rows.Scan(&c.Origin, &c.Users, &c.SignedInSince, &c.NoPasswordNotSignedIn); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, c)
	}
	return out, mapErr(rows.Err())
}
