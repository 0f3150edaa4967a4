package accounts

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// RoleChoice names a role to assign, by name or by id.
type RoleChoice struct {
	ID   string
	Name string
}

// membership finds a user's membership in an organization, reading both
// inside q.
func (s *Service) membership(ctx context.Context, q *store.Q, orgRef, userID string) (*store.Membership, error) {
	if strings.TrimSpace(userID) == "" {
		if _, err := s.ResolveOrganization(ctx, q, orgRef); err != nil {
			return nil, err
		}
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "user_id", Description: "must not be empty"})
	}
	_, _, m, err := s.findMembership(ctx, q, orgRef, Ref{ID: userID})
	return m, err
}

// UserRoles returns the roles a user holds in an organization, by name.
func (s *Service) UserRoles(ctx context.Context, orgRef, userID string) ([]store.RoleRef, error) {
	m, err := s.membership(ctx, s.Store.Q(), orgRef, userID)
	if err != nil {
		return nil, err
	}
	return m.Roles, nil
}

// AssignUserRoles adds roles to a user's membership in an organization
// (roles it already holds stay) and returns all the roles it now holds.
// Every role must exist: an environment role or the organization's own.
func (s *Service) AssignUserRoles(ctx context.Context, orgRef, userID string, choices []RoleChoice) ([]store.RoleRef, error) {
	if len(choices) == 0 {
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "roles", Description: "must name at least one role"})
	}
	var out []store.RoleRef
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		m, err := s.membership(ctx, q, orgRef, userID)
		if err != nil {
			return err
		}
		var names []string
		var v apierr.Violations
		add := map[string]store.RoleRef{}
		for i, c := range choices {
			switch {
			case strings.TrimSpace(c.Name) != "":
				names = append(names, c.Name)
			case c.ID != "":
				r, err := q.GetRole(ctx, s.EnvID, c.ID)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if err != nil || (r.OrgID != "" && r.OrgID != m.OrgID) {
					v.Add("roles", fmt.Sprintf("role id %q does not exist in this organization", c.ID))
					continue
				}
				add[r.ID] = store.RoleRef{ID: r.ID, Name: r.Name, DisplayName: r.DisplayName}
			default:
				v.Add("roles", fmt.Sprintf("entry %d names no role: set role_name or id", i))
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		if len(names) > 0 {
			refs, err := s.resolveRoles(ctx, q, m.OrgID, "roles", names)
			if err != nil {
				return err
			}
			for _, r := range refs {
				add[r.ID] = r
			}
		}
		changed := false
		for _, r := range m.Roles {
			delete(add, r.ID)
		}
		for _, r := range add {
			m.Roles, changed = append(m.Roles, r), true
		}
		sort.Slice(m.Roles, func(i, j int) bool { return m.Roles[i].Name < m.Roles[j].Name })
		out = m.Roles
		if !changed {
			return nil
		}
		m.UpdatedAt = s.Now()
		if err := q.UpdateMembership(ctx, m); err != nil {
			return apierr.FromStore(err, "membership", m.OrgID+"/"+m.UserID)
		}
		return s.emit(ctx, q, "membership.updated", m.UserID, membershipEvent(m))
	})
	return out, err
}

// RemoveUserRole takes one role from a user's membership in an
// organization. The membership may be left without roles.
func (s *Service) RemoveUserRole(ctx context.Context, orgRef, userID, roleName string) error {
	return s.Store.Tx(ctx, func(q *store.Q) error {
		m, err := s.membership(ctx, q, orgRef, userID)
		if err != nil {
			return err
		}
		kept := m.Roles[:0:0]
		for _, r := range m.Roles {
			if r.Name != roleName {
				kept = append(kept, r)
			}
		}
		if len(kept) == len(m.Roles) {
			e := apierr.NotFound("role", roleName)
			e.Message = fmt.Sprintf("the user does not hold role %q in this organization", roleName)
			return e
		}
		m.Roles, m.UpdatedAt = kept, s.Now()
		if err := q.UpdateMembership(ctx, m); err != nil {
			return apierr.FromStore(err, "membership", m.OrgID+"/"+m.UserID)
		}
		return s.emit(ctx, q, "membership.updated", m.UserID, membershipEvent(m))
	})
}

// UserPermissions returns the effective permissions of a user in an
// organization: those of every role the membership holds, inherited ones
// included, each once, in name order.
func (s *Service) UserPermissions(ctx context.Context, orgRef, userID string) ([]store.RolePermission, error) {
	q := s.Store.Q()
	m, err := s.membership(ctx, q, orgRef, userID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(m.Roles))
	for i, r := range m.Roles {
		ids[i] = r.ID
	}
	byRole, err := q.EffectivePermissions(ctx, s.EnvID, ids)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []store.RolePermission{}
	for _, id := range ids {
		for _, p := range byRole[id] {
			if !seen[p.ID] {
				seen[p.ID] = true
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
