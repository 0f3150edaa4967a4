package store

import (
	"context"
	"database/sql"
	"time"
)

// Role is a named set of permissions a membership can hold. OrgID is empty
// for environment roles. A role may extend a base role (BaseRoleID) and
// inherits its permissions, transitively.
type Role struct {
	ID          string
	EnvID       string
	OrgID       string
	Name        string
	DisplayName string
	Description string
	BaseRoleID  string // "" when the role extends none
	CreatedAt   time.Time
	UpdatedAt   time.Time

	// Filled by reads, ignored by writes.
	BaseName   string // the base role's name
	Dependents int    // how many roles extend this one directly
}

// roleSelect reads roles (alias r) with their base role's name and the
// count of roles that extend them.
const roleSelect = `SELECT r.id, r.env_id, r.org_id, r.name, r.display_name, r.description, COALESCE(r.base_role_id, ''),
	COALESCE(b.name, ''), (SELECT COUNT(*) FROM roles d WHERE d.env_id = r.env_id AND d.base_role_id = r.id),
	r.created_at, r.updated_at
	FROM roles r LEFT JOIN roles b ON b.env_id = r.env_id AND b.id = r.base_role_id`

func scanRole(sc interface{ Scan(...any) error }) (*Role, error) {
	var r Role
	var c, u int64
	if err := sc.Scan(&r.ID, &r.EnvID, &r.OrgID, &r.Name, &r.DisplayName, &r.Description, &r.BaseRoleID, &r.BaseName,
		&r.Dependents, &c, &u); err != nil {
		return nil, mapErr(err)
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(c), fromMicros(u)
	return &r, nil
}

func (q *Q) listRoles(ctx context.Context, where string, args ...any) ([]*Role, error) {
	rows, err := q.query(ctx, roleSelect+` WHERE `+where, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*Role
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

func nullID(id string) sql.NullString { return sql.NullString{String: id, Valid: id != ""} }

// CreateRole inserts r.
func (q *Q) CreateRole(ctx context.Context, r *Role) error {
	_, err := q.exec(ctx, `INSERT INTO roles (id, env_id, org_id, name, display_name, description, base_role_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		r.ID, r.EnvID, r.OrgID, r.Name, r.DisplayName, r.Description, nullID(r.BaseRoleID), micros(r.CreatedAt), micros(r.UpdatedAt))
	return mapErr(err)
}

// UpdateRole writes r's display name, description, base role and update time.
func (q *Q) UpdateRole(ctx context.Context, r *Role) error {
	res, err := q.exec(ctx, `UPDATE roles SET display_name = $3, description = $4, base_role_id = $5, updated_at = $6
		WHERE env_id = $1 AND id = $2`, r.EnvID, r.ID, r.DisplayName, r.Description, nullID(r.BaseRoleID), micros(r.UpdatedAt))
	return mustAffect(res, err)
}

// GetRole reads one role by id.
func (q *Q) GetRole(ctx context.Context, envID, id string) (*Role, error) {
	return scanRole(q.queryRow(ctx, roleSelect+` WHERE r.env_id = $1 AND r.id = $2`, envID, id))
}

// GetRoleByName reads the role named name in exactly one scope: the
// environment's roles when orgID is empty, else orgID's own roles.
func (q *Q) GetRoleByName(ctx context.Context, envID, orgID, name string) (*Role, error) {
	return scanRole(q.queryRow(ctx, roleSelect+` WHERE r.env_id = $1 AND r.org_id = $2 AND r.name = $3`, envID, orgID, name))
}

// RolesByName returns the environment roles, and orgID's own roles, whose
// names are listed; names without a role are simply absent from the map.
func (q *Q) RolesByName(ctx context.Context, envID, orgID string, names []string) (map[string]RoleRef, error) {
	out := map[string]RoleRef{}
	if len(names) == 0 {
		return out, nil
	}
	args := []any{envID, orgID}
	for _, n := range names {
		args = append(args, n)
	}
	rows, err := q.query(ctx, `SELECT id, name, display_name, org_id FROM roles
		WHERE env_id = $1 AND (org_id = '' OR org_id = $2) AND name IN (`+placeholders(3, len(names))+`)
		ORDER BY org_id`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r RoleRef
		var org string
		if err := rows.Scan(&r.ID, &r.Name, &r.DisplayName, &org); err != nil {
			return nil, mapErr(err)
		}
		out[r.Name] = r // an organization role (sorted last) overrides an environment role of the same name
	}
	return out, mapErr(rows.Err())
}

// ListRoles returns the environment's roles in name order.
func (q *Q) ListRoles(ctx context.Context, envID string) ([]*Role, error) {
	return q.listRoles(ctx, `r.env_id = $1 AND r.org_id = '' ORDER BY r.name`, envID)
}

// ListOrganizationRoles returns the environment's roles and orgID's own
// roles, in name order with an environment role before an organization
// role of the same name.
func (q *Q) ListOrganizationRoles(ctx context.Context, envID, orgID string) ([]*Role, error) {
	return q.listRoles(ctx, `r.env_id = $1 AND (r.org_id = '' OR r.org_id = $2) ORDER BY r.name, r.org_id`, envID, orgID)
}

// DependentRoles returns the roles that extend roleID directly, in name order.
func (q *Q) DependentRoles(ctx context.Context, envID, roleID string) ([]*Role, error) {
	return q.listRoles(ctx, `r.env_id = $1 AND r.base_role_id = $2 ORDER BY r.name, r.org_id`, envID, roleID)
}

// LockRoleGraph serializes changes to which role extends which, and to the
// default roles, between transactions on PostgreSQL, so two nodes cannot
// each pass a cycle check that their writes together would fail, nor delete
// a role while another makes it a base or a default. It must run inside Tx;
// the lock is released at commit or rollback. SQLite transactions already
// take the single write lock at BEGIN.
func (q *Q) LockRoleGraph(ctx context.Context) error {
	if q.dialect != Postgres {
		return nil
	}
	_, err := q.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7242014)`)
	return mapErr(err)
}

// maxRoleDepth bounds walks up base roles. Writes refuse cycles, so this
// only keeps a damaged row from looping a query.
const maxRoleDepth = 1000

// RoleAncestors returns the ids of roleID's base role, that role's base,
// and so on, nearest first.
func (q *Q) RoleAncestors(ctx context.Context, envID, roleID string) ([]string, error) {
	rows, err := q.query(ctx, `WITH RECURSIVE chain (id, depth) AS (
			SELECT base_role_id, 1 FROM roles WHERE env_id = $1 AND id = $2 AND base_role_id IS NOT NULL
			UNION ALL
			SELECT r.base_role_id, c.depth + 1 FROM chain c JOIN roles r ON r.env_id = $1 AND r.id = c.id
			WHERE r.base_role_id IS NOT NULL AND c.depth < $3
		)
		SELECT id FROM chain ORDER BY depth`, envID, roleID, maxRoleDepth)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, id)
	}
	return out, mapErr(rows.Err())
}

// CountRoleUsers counts the users holding roleID: in orgID, or in any
// organization when orgID is empty.
func (q *Q) CountRoleUsers(ctx context.Context, envID, orgID, roleID string) (int, error) {
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(DISTINCT user_id) FROM membership_roles
		WHERE env_id = $1 AND role_id = $2 AND (org_id = $3 OR $3 = '')`, envID, roleID, orgID).Scan(&n)
	return n, mapErr(err)
}

// ReassignRole gives every membership holding fromID the role toID instead
// (once, if it already holds toID) and returns how many memberships changed.
func (q *Q) ReassignRole(ctx context.Context, envID, fromID, toID string, at time.Time) (int, error) {
	res, err := q.exec(ctx, `UPDATE memberships SET updated_at = $3 WHERE env_id = $1 AND EXISTS (
		SELECT 1 FROM membership_roles mr WHERE mr.env_id = $1 AND mr.org_id = memberships.org_id
		AND mr.user_id = memberships.user_id AND mr.role_id = $2)`, envID, fromID, micros(at))
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := q.exec(ctx, `INSERT INTO membership_roles (env_id, org_id, user_id, role_id)
		SELECT mr.env_id, mr.org_id, mr.user_id, $3 FROM membership_roles mr WHERE mr.env_id = $1 AND mr.role_id = $2
		AND NOT EXISTS (SELECT 1 FROM membership_roles x WHERE x.org_id = mr.org_id AND x.user_id = mr.user_id AND x.role_id = $3)`,
		envID, fromID, toID); err != nil {
		return 0, mapErr(err)
	}
	if _, err := q.exec(ctx, `DELETE FROM membership_roles WHERE env_id = $1 AND role_id = $2`, envID, fromID); err != nil {
		return 0, mapErr(err)
	}
	return int(n), nil
}

// DeleteRole removes a role and its permission grants. It fails while a
// membership holds the role or a default names it.
func (q *Q) DeleteRole(ctx context.Context, envID, id string) error {
	if _, err := q.exec(ctx, `DELETE FROM role_permissions WHERE env_id = $1 AND role_id = $2`, envID, id); err != nil {
		return mapErr(err)
	}
	res, err := q.exec(ctx, `DELETE FROM roles WHERE env_id = $1 AND id = $2`, envID, id)
	return mustAffect(res, err)
}

// deleteOrganizationRoles removes orgID's own roles, their grants and the
// organization's default roles; memberships holding them must be gone.
func (q *Q) deleteOrganizationRoles(ctx context.Context, envID, orgID string) error {
	for _, stmt := range []string{
		`DELETE FROM role_defaults WHERE env_id = $1 AND org_id = $2`,
		`DELETE FROM role_permissions WHERE env_id = $1 AND role_id IN (SELECT id FROM roles WHERE env_id = $1 AND org_id = $2)`,
		`DELETE FROM roles WHERE env_id = $1 AND org_id = $2`,
	} {
		if _, err := q.exec(ctx, stmt, envID, orgID); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// Kinds of default role.
const (
	DefaultCreator = "creator" // given to the user who creates an organization
	DefaultMember  = "member"  // given to a member added without roles
)

// SetRoleDefault makes roleID the default of kind for orgID ("" for the
// environment), replacing any previous one.
func (q *Q) SetRoleDefault(ctx context.Context, envID, orgID, kind, roleID string) error {
	_, err := q.exec(ctx, `INSERT INTO role_defaults (env_id, org_id, kind, role_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (env_id, org_id, kind) DO UPDATE SET role_id = excluded.role_id`, envID, orgID, kind, roleID)
	return mapErr(err)
}

// EnsureRoleDefault makes roleID the default of kind for orgID unless one
// is already set.
func (q *Q) EnsureRoleDefault(ctx context.Context, envID, orgID, kind, roleID string) error {
	_, err := q.exec(ctx, `INSERT INTO role_defaults (env_id, org_id, kind, role_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (env_id, org_id, kind) DO NOTHING`, envID, orgID, kind, roleID)
	return mapErr(err)
}

// RoleDefaults returns the default role ids set for exactly orgID ("" for
// the environment), by kind.
func (q *Q) RoleDefaults(ctx context.Context, envID, orgID string) (map[string]string, error) {
	rows, err := q.query(ctx, `SELECT kind, role_id FROM role_defaults WHERE env_id = $1 AND org_id = $2`, envID, orgID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var kind, id string
		if err := rows.Scan(&kind, &id); err != nil {
			return nil, mapErr(err)
		}
		out[kind] = id
	}
	return out, mapErr(rows.Err())
}

// DefaultMemberRole returns the role a member of orgID gets by default: the
// organization's own default, else the environment's; ErrNotFound if
// neither is set.
func (q *Q) DefaultMemberRole(ctx context.Context, envID, orgID string) (RoleRef, error) {
	var r RoleRef
	err := q.queryRow(ctx, `SELECT r.id, r.name, r.display_name FROM role_defaults d JOIN roles r ON r.id = d.role_id
		WHERE d.env_id = $1 AND d.kind = $3 AND (d.org_id = '' OR d.org_id = $2) ORDER BY d.org_id DESC LIMIT 1`,
		envID, orgID, DefaultMember).Scan(&r.ID, &r.Name, &r.DisplayName)
	return r, mapErr(err)
}

// RoleDefaultUse is one default naming a role.
type RoleDefaultUse struct {
	OrgID string // "" for the environment's default
	Kind  string
}

// RoleDefaultUses lists the defaults that name roleID.
func (q *Q) RoleDefaultUses(ctx context.Context, envID, roleID string) ([]RoleDefaultUse, error) {
	rows, err := q.query(ctx, `SELECT org_id, kind FROM role_defaults WHERE env_id = $1 AND role_id = $2 ORDER BY org_id, kind`, envID, roleID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []RoleDefaultUse
	for rows.Next() {
		var u RoleDefaultUse
		if err := rows.Scan(&u.OrgID, &u.Kind); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, u)
	}
	return out, mapErr(rows.Err())
}
