package store

import (
	"context"
	"database/sql"
	"time"
)

// Membership statuses, numbered as scalekit.v1.commons.MembershipStatus.
const (
	MembershipActive        int32 = 1
	MembershipInactive      int32 = 2
	MembershipPendingInvite int32 = 3
	MembershipInviteExpired int32 = 4
)

// RoleRef is a role as a membership shows it.
type RoleRef struct {
	ID          string
	Name        string
	DisplayName string
}

// Membership links a user to an organization with roles.
type Membership struct {
	EnvID        string
	OrgID        string
	UserID       string
	Status       int32
	Metadata     map[string]string
	InviterEmail *string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	AcceptedAt   time.Time
	ExpiresAt    time.Time
	ResentAt     time.Time
	ResentCount  int32
	Roles        []RoleRef

	// OrgName is the organization's display name, read for display.
	OrgName string
}

// CreateMembership inserts m and its roles (by id).
func (q *Q) CreateMembership(ctx context.Context, m *Membership) error {
	_, err := q.exec(ctx, `INSERT INTO memberships (env_id, org_id, user_id, status, metadata, inviter_email,
		created_at, updated_at, accepted_at, expires_at, resent_at, resent_count)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		m.EnvID, m.OrgID, m.UserID, m.Status, encodeJSON(nonNilMap(m.Metadata)), nullString(m.InviterEmail),
		micros(m.CreatedAt), micros(m.UpdatedAt), nullMicros(m.AcceptedAt), nullMicros(m.ExpiresAt), nullMicros(m.ResentAt), m.ResentCount)
	if err != nil {
		return mapErr(err)
	}
	return q.setMembershipRoles(ctx, m)
}

// UpdateMembership writes m's mutable fields and replaces its roles.
func (q *Q) UpdateMembership(ctx context.Context, m *Membership) error {
	res, err := q.exec(ctx, `UPDATE memberships SET status = $4, metadata = $5, inviter_email = $6, updated_at = $7,
		accepted_at = $8, expires_at = $9, resent_at = $10, resent_count = $11
		WHERE env_id = $1 AND org_id = $2 AND user_id = $3`,
		m.EnvID, m.OrgID, m.UserID, m.Status, encodeJSON(nonNilMap(m.Metadata)), nullString(m.InviterEmail),
		micros(m.UpdatedAt), nullMicros(m.AcceptedAt), nullMicros(m.ExpiresAt), nullMicros(m.ResentAt), m.ResentCount)
	if err := mustAffect(res, err); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM membership_roles WHERE env_id = $1 AND org_id = $2 AND user_id = $3`,
		m.EnvID, m.OrgID, m.UserID); err != nil {
		return mapErr(err)
	}
	return q.setMembershipRoles(ctx, m)
}

func (q *Q) setMembershipRoles(ctx context.Context, m *Membership) error {
	for _, r := range m.Roles {
		if _, err := q.exec(ctx, `INSERT INTO membership_roles (env_id, org_id, user_id, role_id) VALUES ($1, $2, $3, $4)`,
			m.EnvID, m.OrgID, m.UserID, r.ID); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// DeleteMembership removes one membership.
func (q *Q) DeleteMembership(ctx context.Context, envID, orgID, userID string) error {
	if _, err := q.exec(ctx, `DELETE FROM membership_roles WHERE env_id = $1 AND org_id = $2 AND user_id = $3`,
		envID, orgID, userID); err != nil {
		return mapErr(err)
	}
	res, err := q.exec(ctx, `DELETE FROM memberships WHERE env_id = $1 AND org_id = $2 AND user_id = $3`, envID, orgID, userID)
	return mustAffect(res, err)
}

// attachMemberships loads the memberships (with roles) of users in two
// queries, whatever the number of users.
func (q *Q) attachMemberships(ctx context.Context, envID string, users []*User) error {
	if len(users) == 0 {
		return nil
	}
	byUser := make(map[string]*User, len(users))
	args := []any{envID}
	for _, u := range users {
		u.Memberships = []*Membership{}
		byUser[u.ID] = u
		args = append(args, u.ID)
	}
	in := placeholders(2, len(users))
	rows, err := q.query(ctx, `SELECT m.org_id, m.user_id, m.status, m.metadata, m.inviter_email, m.created_at,
		m.updated_at, m.accepted_at, m.expires_at, m.resent_at, m.resent_count, o.display_name
		FROM memberships m JOIN organizations o ON o.id = m.org_id AND o.env_id = m.env_id
		WHERE m.env_id = $1 AND m.user_id IN (`+in+`) ORDER BY m.user_id, m.created_at, m.org_id`, args...)
	if err != nil {
		return mapErr(err)
	}
	index, err := collectMemberships(rows, envID, byUser, true)
	if err != nil {
		return err
	}
	return q.attachMembershipRoles(ctx, index, "mr.user_id IN ("+in+")", args)
}

// memberKey identifies a membership: organization and user.
type memberKey struct{ org, user string }

// collectMemberships reads memberships rows (the columns attachMemberships
// selects, with o.display_name last when withOrgName) into their users'
// Memberships, and closes rows. It returns them by memberKey for
// attachMembershipRoles.
func collectMemberships(rows *sql.Rows, envID string, byUser map[string]*User, withOrgName bool) (map[memberKey]*Membership, error) {
	defer rows.Close()
	index := map[memberKey]*Membership{}
	for rows.Next() {
		m := &Membership{EnvID: envID, Roles: []RoleRef{}}
		var meta string
		var inviter sql.NullString
		var created, updated int64
		var accepted, expires, resent sql.NullInt64
		dest := []any{&m.OrgID, &m.UserID, &m.Status, &meta, &inviter, &created, &updated, &accepted, &expires,
			&resent, &m.ResentCount}
		if withOrgName {
			dest = append(dest, &m.OrgName)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, mapErr(err)
		}
		m.Metadata, m.InviterEmail = decodeMap(meta), ptrString(inviter)
		m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
		m.AcceptedAt, m.ExpiresAt, m.ResentAt = fromMicros(accepted.Int64), fromMicros(expires.Int64), fromMicros(resent.Int64)
		byUser[m.UserID].Memberships = append(byUser[m.UserID].Memberships, m)
		index[memberKey{m.OrgID, m.UserID}] = m
	}
	return index, mapErr(rows.Err())
}

// attachMembershipRoles adds their roles (by name) to the memberships in
// index, reading membership_roles for the users userFilter selects ($1 is
// the environment, args its parameters).
func (q *Q) attachMembershipRoles(ctx context.Context, index map[memberKey]*Membership, userFilter string, args []any) error {
	// CROSS JOIN makes SQLite read membership_roles first, by its key
	// (user first, migrate_sqlite.go) rather than walk the environment's
	// roles and look each one up; PostgreSQL plans it as the inner join
	// it is.
	rows, err := q.query(ctx, `SELECT mr.org_id, mr.user_id, r.id, r.name, r.display_name
		FROM membership_roles mr CROSS JOIN roles r
		WHERE r.id = mr.role_id AND r.env_id = mr.env_id AND mr.env_id = $1 AND `+userFilter+` ORDER BY r.name`, args...)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var org, user string
		var r RoleRef
		if err := rows.Scan(&org, &user, &r.ID, &r.Name, &r.DisplayName); err != nil {
			return mapErr(err)
		}
		if m := index[memberKey{org, user}]; m != nil {
			m.Roles = append(m.Roles, r)
		}
	}
	return mapErr(rows.Err())
}
