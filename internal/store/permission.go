package store

import (
	"context"
	"sort"
	"time"
)

// Permission is one action an application checks (projects:create), named
// per environment. Roles grant permissions.
type Permission struct {
	ID          string
	EnvID       string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// RolePermission is a permission as a role holds it: RoleID and RoleName
// name the role that grants it directly, which for an inherited permission
// is a base role.
type RolePermission struct {
	Permission
	RoleID   string
	RoleName string
}

const permColumns = `id, env_id, name, description, created_at, updated_at`

func scanPermission(sc interface{ Scan(...any) error }) (*Permission, error) {
	var p Permission
	var c, u int64
	if err := sc.Scan(&p.ID, &p.EnvID, &p.Name, &p.Description, &c, &u); err != nil {
		return nil, mapErr(err)
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(c), fromMicros(u)
	return &p, nil
}

// CreatePermission inserts p.
func (q *Q) CreatePermission(ctx context.Context, p *Permission) error {
	_, err := q.exec(ctx, `INSERT INTO permissions (`+permColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.ID, p.EnvID, p.Name, p.Description, micros(p.CreatedAt), micros(p.UpdatedAt))
	return mapErr(err)
}

// UpdatePermission writes p's description and update time.
func (q *Q) UpdatePermission(ctx context.Context, p *Permission) error {
	res, err := q.exec(ctx, `UPDATE permissions SET description = $3, updated_at = $4 WHERE env_id = $1 AND id = $2`,
		p.EnvID, p.ID, p.Description, micros(p.UpdatedAt))
	return mustAffect(res, err)
}

// GetPermissionByName reads one permission by name.
func (q *Q) GetPermissionByName(ctx context.Context, envID, name string) (*Permission, error) {
	return scanPermission(q.queryRow(ctx, `SELECT `+permColumns+` FROM permissions WHERE env_id = $1 AND name = $2`, envID, name))
}

// PermissionsByName returns the permissions whose names are listed; names
// without a permission are absent from the map.
func (q *Q) PermissionsByName(ctx context.Context, envID string, names []string) (map[string]*Permission, error) {
	out := map[string]*Permission{}
	if len(names) == 0 {
		return out, nil
	}
	args := []any{envID}
	for _, n := range names {
		args = append(args, n)
	}
	rows, err := q.query(ctx, `SELECT `+permColumns+` FROM permissions WHERE env_id = $1 AND name IN (`+placeholders(2, len(names))+`)`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPermission(rows)
		if err != nil {
			return nil, err
		}
		out[p.Name] = p
	}
	return out, mapErr(rows.Err())
}

// DeletePermission removes a permission and every role's grant of it.
func (q *Q) DeletePermission(ctx context.Context, envID, id string) error {
	if _, err := q.exec(ctx, `DELETE FROM role_permissions WHERE env_id = $1 AND permission_id = $2`, envID, id); err != nil {
		return mapErr(err)
	}
	res, err := q.exec(ctx, `DELETE FROM permissions WHERE env_id = $1 AND id = $2`, envID, id)
	return mustAffect(res, err)
}

// ListPermissions returns a page of permissions in id order.
func (q *Q) ListPermissions(ctx context.Context, envID string, p Page) (Result[*Permission], error) {
	p = p.normalize()
	var out Result[*Permission]
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM permissions WHERE env_id = $1`, envID).Scan(&out.Total); err != nil {
		return out, mapErr(err)
	}
	rows, err := q.query(ctx, `SELECT `+permColumns+` FROM permissions WHERE env_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		envID, p.AfterID, p.Limit+1)
	if err != nil {
		return out, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		perm, err := scanPermission(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, perm)
	}
	if err := rows.Err(); err != nil {
		return out, mapErr(err)
	}
	out.Items, out.More = trim(out.Items, p.Limit)
	return out, nil
}

// AddRolePermissions grants roleID the permissions; ones it already has
// stay as they are.
func (q *Q) AddRolePermissions(ctx context.Context, envID, roleID string, permissionIDs []string, at time.Time) error {
	for _, pid := range permissionIDs {
		if _, err := q.exec(ctx, `INSERT INTO role_permissions (env_id, role_id, permission_id, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (role_id, permission_id) DO NOTHING`, envID, roleID, pid, micros(at)); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// SetRolePermissions replaces roleID's direct permissions.
func (q *Q) SetRolePermissions(ctx context.Context, envID, roleID string, permissionIDs []string, at time.Time) error {
	if _, err := q.exec(ctx, `DELETE FROM role_permissions WHERE env_id = $1 AND role_id = $2`, envID, roleID); err != nil {
		return mapErr(err)
	}
	return q.AddRolePermissions(ctx, envID, roleID, permissionIDs, at)
}

// RemoveRolePermission revokes one direct grant; ErrNotFound if roleID
// does not hold permissionID directly.
func (q *Q) RemoveRolePermission(ctx context.Context, envID, roleID, permissionID string) error {
	res, err := q.exec(ctx, `DELETE FROM role_permissions WHERE env_id = $1 AND role_id = $2 AND permission_id = $3`,
		envID, roleID, permissionID)
	return mustAffect(res, err)
}

// RolePermissions returns the direct permissions of each listed role, by
// role id, each list in name order.
func (q *Q) RolePermissions(ctx context.Context, envID string, roleIDs []string) (map[string][]RolePermission, error) {
	out := map[string][]RolePermission{}
	if len(roleIDs) == 0 {
		return out, nil
	}
	args := []any{envID}
	for _, id := range roleIDs {
		args = append(args, id)
	}
	rows, err := q.query(ctx, `SELECT r.id, r.name, p.id, p.env_id, p.name, p.description, p.created_at, p.updated_at
		FROM role_permissions rp JOIN roles r ON r.id = rp.role_id JOIN permissions p ON p.id = rp.permission_id
		WHERE rp.env_id = $1 AND rp.role_id IN (`+placeholders(2, len(roleIDs))+`) ORDER BY r.id, p.name`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var rp RolePermission
		var c, u int64
		if err := rows.Scan(&rp.RoleID, &rp.RoleName, &rp.ID, &rp.EnvID, &rp.Name, &rp.Description, &c, &u); err != nil {
			return nil, mapErr(err)
		}
		rp.CreatedAt, rp.UpdatedAt = fromMicros(c), fromMicros(u)
		out[rp.RoleID] = append(out[rp.RoleID], rp)
	}
	return out, mapErr(rows.Err())
}

// EffectivePermissions returns, for each listed role, its direct
// permissions plus those of its base role, that role's base, and so on:
// each permission once, attributed to the nearest role granting it, in name
// order. This is the one place inheritance is computed.
func (q *Q) EffectivePermissions(ctx context.Context, envID string, roleIDs []string) (map[string][]RolePermission, error) {
	out := map[string][]RolePermission{}
	if len(roleIDs) == 0 {
		return out, nil
	}
	args := []any{envID, maxRoleDepth}
	for _, id := range roleIDs {
		args = append(args, id)
	}
	rows, err := q.query(ctx, `WITH RECURSIVE chain (seed, id, depth) AS (
			SELECT id, id, 0 FROM roles WHERE env_id = $1 AND id IN (`+placeholders(3, len(roleIDs))+`)
			UNION ALL
			SELECT c.seed, r.base_role_id, c.depth + 1 FROM chain c JOIN roles r ON r.env_id = $1 AND r.id = c.id
			WHERE r.base_role_id IS NOT NULL AND c.depth < $2
		)
		SELECT c.seed, g.id, g.name, p.id, p.env_id, p.name, p.description, p.created_at, p.updated_at
		FROM chain c JOIN roles g ON g.id = c.id
		JOIN role_permissions rp ON rp.env_id = $1 AND rp.role_id = c.id
		JOIN permissions p ON p.id = rp.permission_id
		ORDER BY c.seed, c.depth, p.name`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	seen := map[[2]string]bool{}
	for rows.Next() {
		var seed string
		var rp RolePermission
		var c, u int64
		if err := rows.Scan(&seed, &rp.RoleID, &rp.RoleName, &rp.ID, &rp.EnvID, &rp.Name, &rp.Description, &c, &u); err != nil {
			return nil, mapErr(err)
		}
		if seen[[2]string{seed, rp.ID}] {
			continue // a farther role grants it too; the nearest is kept
		}
		seen[[2]string{seed, rp.ID}] = true
		rp.CreatedAt, rp.UpdatedAt = fromMicros(c), fromMicros(u)
		out[seed] = append(out[seed], rp)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	for _, l := range out {
		sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	}
	return out, nil
}
