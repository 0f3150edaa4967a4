package store

import "context"

// The reads of the export (gatehouse.v1.ExportService, docs/export.md):
// what a page of organizations or users needs besides ListOrganizations
// and ListUsers, each in one query per page whatever its size.

// OrganizationsByIDs returns the organizations with these ids, by id.
func (q *Q) OrganizationsByIDs(ctx context.Context, envID string, ids []string) (map[string]*Organization, error) {
	out := map[string]*Organization{}
	for _, args := range chunks(ids, envID) {
		rows, err := q.query(ctx, `SELECT `+orgColumns+` FROM organizations WHERE env_id = $1 AND id IN (`+
			placeholders(2, importChunk)+`)`, args...)
		if err != nil {
			return nil, mapErr(err)
		}
		for rows.Next() {
			o, err := scanOrg(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[o.ID] = o
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapErr(err)
		}
	}
	return out, nil
}

// OrganizationsOwnRoles returns the roles the listed organizations define
// themselves, in organization then name order.
func (q *Q) OrganizationsOwnRoles(ctx context.Context, envID string, orgIDs []string) ([]*Role, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	args := []any{envID}
	for _, id := range orgIDs {
		args = append(args, id)
	}
	return q.listRoles(ctx, `r.env_id = $1 AND r.org_id IN (`+placeholders(2, len(orgIDs))+`) ORDER BY r.org_id, r.name`, args...)
}

// OrganizationsRoleDefaults returns the default roles the listed
// organizations set themselves: organization id -> kind -> role id.
func (q *Q) OrganizationsRoleDefaults(ctx context.Context, envID string, orgIDs []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	if len(orgIDs) == 0 {
		return out, nil
	}
	args := []any{envID}
	for _, id := range orgIDs {
		args = append(args, id)
	}
	rows, err := q.query(ctx, `SELECT org_id, kind, role_id FROM role_defaults
		WHERE env_id = $1 AND org_id IN (`+placeholders(2, len(orgIDs))+`)`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var org, kind, role string
		if err := rows.Scan(&org, &kind, &role); err != nil {
			return nil, mapErr(err)
		}
		if out[org] == nil {
			out[org] = map[string]string{}
		}
		out[org][kind] = role
	}
	return out, mapErr(rows.Err())
}

// PasswordHashes returns the stored password hashes of the listed users
// that have one, by user id.
func (q *Q) PasswordHashes(ctx context.Context, envID string, userIDs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, args := range chunks(userIDs, envID) {
		rows, err := q.query(ctx, `SELECT user_id, hash FROM user_passwords WHERE env_id = $1 AND user_id IN (`+
			placeholders(2, importChunk)+`)`, args...)
		if err != nil {
			return nil, mapErr(err)
		}
		for rows.Next() {
			var id, h string
			if err := rows.Scan(&id, &h); err != nil {
				rows.Close()
				return nil, mapErr(err)
			}
			out[id] = h
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapErr(err)
		}
	}
	return out, nil
}

// OrgSessionPolicies returns the own session policies of the listed
// organizations that have one, by organization id; an organization
// without one follows the environment's.
func (q *Q) OrgSessionPolicies(ctx context.Context, envID string, orgIDs []string) (map[string]*OrgSessionPolicy, error) {
	out := map[string]*OrgSessionPolicy{}
	for _, args := range chunks(orgIDs, envID) {
		rows, err := q.query(ctx, `SELECT env_id, org_id, absolute_timeout, absolute_timeout_unit, idle_timeout_enabled,
			idle_timeout, idle_timeout_unit, updated_at FROM organization_session_policies WHERE env_id = $1 AND org_id IN (`+
			placeholders(2, importChunk)+`)`, args...)
		if err != nil {
			return nil, mapErr(err)
		}
		for rows.Next() {
			var p OrgSessionPolicy
			var u int64
			if err := rows.Scan(&p.EnvID, &p.OrgID, &p.AbsoluteTimeout, &p.AbsoluteTimeoutUnit, &p.IdleTimeoutEnabled,
				&p.IdleTimeout, &p.IdleTimeoutUnit, &u); err != nil {
				rows.Close()
				return nil, mapErr(err)
			}
			p.UpdatedAt = fromMicros(u)
			out[p.OrgID] = &p
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapErr(err)
		}
	}
	return out, nil
}
