package store

import (
	"context"
	"time"
)

// Role is a named set of permissions a membership can hold. OrgID is empty
// for environment roles.
type Role struct {
	ID          string
	EnvID       string
	OrgID       string
	Name        string
	DisplayName string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CreateRole inserts r.
func (q *Q) CreateRole(ctx context.Context, r *Role) error {
	_, err := q.exec(ctx, `INSERT INTO roles (id, env_id, org_id, name, display_name, description, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.ID, r.EnvID, r.OrgID, r.Name, r.DisplayName, r.Description, micros(r.CreatedAt), micros(r.UpdatedAt))
	return mapErr(err)
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
	rows, err := q.query(ctx, `SELECT id, env_id, org_id, name, display_name, description, created_at, updated_at
		FROM roles WHERE env_id = $1 AND org_id = '' ORDER BY name`, envID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*Role
	for rows.Next() {
		var r Role
		var c, u int64
		if err := rows.Scan(&r.ID, &r.EnvID, &r.OrgID, &r.Name, &r.DisplayName, &r.Description, &c, &u); err != nil {
			return nil, mapErr(err)
		}
		r.CreatedAt, r.UpdatedAt = fromMicros(c), fromMicros(u)
		out = append(out, &r)
	}
	return out, mapErr(rows.Err())
}
