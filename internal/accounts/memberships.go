package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// resolveRoles maps role names to roles; every name must exist. No names
// means the default member role: the organization's own default, else the
// environment's (UpdateDefaultRoles), read at each call so every node
// follows a change at once.
func (s *Service) resolveRoles(ctx context.Context, q *store.Q, orgID, field string, names []string) ([]store.RoleRef, error) {
	if len(names) == 0 {
		def, err := q.DefaultMemberRole(ctx, s.EnvID, orgID)
		if err == nil {
			return []store.RoleRef{def}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		names = []string{RoleMember}
	}
	seen := map[string]bool{}
	var uniq []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	found, err := q.RolesByName(ctx, s.EnvID, orgID, uniq)
	if err != nil {
		return nil, err
	}
	var v apierr.Violations
	out := make([]store.RoleRef, 0, len(uniq))
	for _, n := range uniq {
		r, ok := found[n]
		if !ok {
			v.Add(field, fmt.Sprintf("role %q does not exist; create it first or use an existing role such as %q", n, RoleMember))
			continue
		}
		out = append(out, r)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// addMembership inserts a membership in the status sendInvite calls for,
// queues the invitation email, and returns the membership as reads show it.
func (s *Service) addMembership(ctx context.Context, q *store.Q, org *store.Organization, u *store.User, roles []store.RoleRef, mf MembershipFields, sendInvite bool) (*store.Membership, error) {
	now := s.Now()
	m := &store.Membership{EnvID: s.EnvID, OrgID: org.ID, UserID: u.ID, Roles: roles, Metadata: mf.Metadata,
		InviterEmail: emptyNil(mf.InviterEmail), CreatedAt: now, UpdatedAt: now, Status: store.MembershipActive, AcceptedAt: now,
		OrgName: org.DisplayName}
	if sendInvite {
		m.Status, m.AcceptedAt, m.ExpiresAt = store.MembershipPendingInvite, time.Time{}, now.Add(s.inviteTTL())
	}
	if err := q.CreateMembership(ctx, m); err != nil {
		var conflict *store.ErrConflict
		if errors.As(err, &conflict) {
			// A membership's only unique key is (organization, user).
			e := apierr.AlreadyExists("membership", "organization_id")
			e.Message = "the user is already a member of this organization"
			return nil, e
		}
		return nil, apierr.FromStore(err, "membership", org.ID+"/"+u.ID)
	}
	if sendInvite {
		if err := s.queueInvite(ctx, q, org, u, m); err != nil {
			return nil, err
		}
	}
	if m.Metadata == nil {
		m.Metadata = map[string]string{}
	}
	sort.Slice(m.Roles, func(i, j int) bool { return m.Roles[i].Name < m.Roles[j].Name })
	return m, s.emit(ctx, q, "membership.created", u.ID, membershipEvent(m))
}

func (s *Service) inviteTTL() time.Duration {
	if s.InviteTTL > 0 {
		return s.InviteTTL
	}
	return DefaultInviteTTL
}

// queueInvite adds the invitation email to the mail queue in q's transaction.
func (s *Service) queueInvite(ctx context.Context, q *store.Q, org *store.Organization, u *store.User, m *store.Membership) error {
	link := s.PublicURL + "/login?" + url.Values{"organization_id": {org.ID}, "login_hint": {u.Email}}.Encode()
	invited := "You have been invited"
	if m.InviterEmail != nil {
		invited = *m.InviterEmail + " has invited you"
	}
	body := fmt.Sprintf("%s to join %s.\n\nSign in to accept: %s\n\nThis invitation expires on %s.\n",
		invited, org.DisplayName, link, m.ExpiresAt.UTC().Format("2 January 2006 at 15:04 UTC"))
	return q.AddEmail(ctx, &store.Email{ID: s.IDs.New(id.Email), EnvID: s.EnvID, To: u.Email, Kind: "invitation",
		Subject: "You are invited to join " + org.DisplayName, Body: body, CreatedAt: s.Now()})
}

// CreateMembership adds an existing user to an organization.
func (s *Service) CreateMembership(ctx context.Context, orgRef string, user Ref, mf MembershipFields, sendInvite bool) (*store.User, error) {
	var v apierr.Violations
	checkMetadata(&v, "membership.metadata", mf.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *store.User
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		org, err := s.ResolveOrganization(ctx, q, orgRef)
		if err != nil {
			return err
		}
		u, err := s.getUser(ctx, q, user)
		if err != nil {
			return err
		}
		roles, err := s.resolveRoles(ctx, q, org.ID, "membership.roles", mf.Roles)
		if err != nil {
			return err
		}
		if _, err := s.addMembership(ctx, q, org, u, roles, mf, sendInvite); err != nil {
			return err
		}
		out, err = q.GetUser(ctx, s.EnvID, u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.present(out), nil
}

// membershipOf finds u's membership in org or reports NotFound.
func membershipOf(u *store.User, orgID string) (*store.Membership, error) {
	for _, m := range u.Memberships {
		if m.OrgID == orgID {
			return m, nil
		}
	}
	return nil, apierr.NotFound("membership", orgID+"/"+u.ID)
}

// findMembership resolves the organization and user a membership call names
// and finds the membership between them, or reports which is missing.
func (s *Service) findMembership(ctx context.Context, q *store.Q, orgRef string, user Ref) (*store.Organization, *store.User, *store.Membership, error) {
	org, err := s.ResolveOrganization(ctx, q, orgRef)
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := s.getUser(ctx, q, user)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := membershipOf(u, org.ID)
	return org, u, m, err
}

// UpdateMembership replaces a membership's roles and metadata where set.
func (s *Service) UpdateMembership(ctx context.Context, orgRef string, user Ref, mf MembershipFields) (*store.User, error) {
	var v apierr.Violations
	checkMetadata(&v, "membership.metadata", mf.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *store.User
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		org, u, m, err := s.findMembership(ctx, q, orgRef, user)
		if err != nil {
			return err
		}
		if len(mf.Roles) > 0 {
			if m.Roles, err = s.resolveRoles(ctx, q, org.ID, "membership.roles", mf.Roles); err != nil {
				return err
			}
		}
		if len(mf.Metadata) > 0 {
			m.Metadata = mf.Metadata
		}
		m.UpdatedAt = s.Now()
		if err := q.UpdateMembership(ctx, m); err != nil {
			return apierr.FromStore(err, "membership", org.ID+"/"+u.ID)
		}
		if err := s.emit(ctx, q, "membership.updated", u.ID, membershipEvent(m)); err != nil {
			return err
		}
		out, err = q.GetUser(ctx, s.EnvID, u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.present(out), nil
}

// DeleteMembership removes a user from an organization; the user remains.
// The user's sessions for that organization end in the same transaction,
// with their refresh and access tokens, and their clients get back-channel
// logout tokens. Sessions are ended before the membership goes, locking
// them first as refresh does, so the two cannot deadlock on PostgreSQL.
func (s *Service) DeleteMembership(ctx context.Context, orgRef string, user Ref) error {
	var ended []*store.Session
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		org, u, m, err := s.findMembership(ctx, q, orgRef, user)
		if err != nil {
			return err
		}
		if ended, err = s.endSessionsIn(ctx, q, store.SessionOwner{UserID: u.ID, OrgID: org.ID}, sessions.ReasonMembershipRemoved); err != nil {
			return err
		}
		if err := q.DeleteMembership(ctx, s.EnvID, org.ID, u.ID); err != nil {
			return apierr.FromStore(err, "membership", org.ID+"/"+u.ID)
		}
		return s.emit(ctx, q, "membership.deleted", u.ID, membershipEvent(m))
	})
	if err != nil {
		return err
	}
	s.notifyEnded(ctx, ended)
	return nil
}

// ResendInvite renews a pending or expired invitation and sends it again.
func (s *Service) ResendInvite(ctx context.Context, orgRef, userID string) (*store.Membership, error) {
	var out *store.Membership
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		org, u, m, err := s.findMembership(ctx, q, orgRef, Ref{ID: userID})
		if err != nil {
			return err
		}
		if m.Status != store.MembershipPendingInvite && m.Status != store.MembershipInviteExpired {
			return apierr.FailedPrecondition("the membership is not a pending invitation, so there is nothing to resend")
		}
		now := s.Now()
		m.Status, m.ResentAt, m.ExpiresAt, m.UpdatedAt = store.MembershipPendingInvite, now, now.Add(s.inviteTTL()), now
		m.ResentCount++
		if err := q.UpdateMembership(ctx, m); err != nil {
			return apierr.FromStore(err, "membership", org.ID+"/"+u.ID)
		}
		if err := s.queueInvite(ctx, q, org, u, m); err != nil {
			return err
		}
		out = m
		return s.emit(ctx, q, "membership.invite_resent", u.ID, membershipEvent(m))
	})
	return out, err
}

func membershipEvent(m *store.Membership) map[string]any {
	roles := make([]string, len(m.Roles))
	for i, r := range m.Roles {
		roles[i] = r.Name
	}
	return map[string]any{"organization_id": m.OrgID, "user_id": m.UserID, "status": m.Status, "roles": roles, "metadata": m.Metadata}
}
