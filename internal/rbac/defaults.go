package rbac

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Default roles: the environment names a default creator role (for the user
// who creates an organization) and a default member role (for a member
// added without roles); an organization may name its own default member
// role. accounts reads the member default on every membership it creates.

// UpdateDefaultRoles sets the environment's default creator and member
// roles (nil leaves one unchanged) and returns both defaults.
func (s *Service) UpdateDefaultRoles(ctx context.Context, creator, member *accounts.RoleChoice) (*Role, *Role, error) {
	if creator == nil && member == nil {
		return nil, nil, apierr.InvalidArgument(apierr.Violation{Field: "default_member_role",
			Description: "set default_creator_role, default_member_role or both"})
	}
	var outCreator, outMember *Role
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.LockRoleGraph(ctx); err != nil { // a default cannot name a role being deleted
			return err
		}
		changed := map[string]string{}
		for _, d := range []struct {
			kind, field string
			choice      *accounts.RoleChoice
		}{{store.DefaultCreator, "default_creator_role", creator}, {store.DefaultMember, "default_member_role", member}} {
			if d.choice == nil {
				continue
			}
			r, err := s.choose(ctx, q, scope{}, d.field, *d.choice)
			if err != nil {
				return err
			}
			if err := q.SetRoleDefault(ctx, s.EnvID, "", d.kind, r.ID); err != nil {
				return err
			}
			changed[d.kind] = r.Name
		}
		if err := s.emit(ctx, q, "role.defaults_updated", s.EnvID, changed); err != nil {
			return err
		}
		defaults, err := q.RoleDefaults(ctx, s.EnvID, "")
		if err != nil {
			return err
		}
		for kind, dst := range map[string]**Role{store.DefaultCreator: &outCreator, store.DefaultMember: &outMember} {
			if defaults[kind] == "" {
				continue
			}
			r, err := q.GetRole(ctx, s.EnvID, defaults[kind])
			if err != nil {
				return err
			}
			if *dst, err = s.presentOne(ctx, q, scope{}, r, includeDirect); err != nil {
				return err
			}
		}
		return nil
	})
	return outCreator, outMember, err
}

// UpdateDefaultOrganizationRoles sets the role an organization's new
// members get when none is named, overriding the environment's default.
func (s *Service) UpdateDefaultOrganizationRoles(ctx context.Context, orgRef, member string) (*Role, error) {
	if err := pathName("org_id", orgRef); err != nil {
		return nil, err
	}
	member = strings.TrimSpace(member)
	if member == "" {
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "default_member_role", Description: "must name a role"})
	}
	var out *Role
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.LockRoleGraph(ctx); err != nil {
			return err
		}
		sc, err := s.orgScope(ctx, q, orgRef)
		if err != nil {
			return err
		}
		r, err := s.choose(ctx, q, sc, "default_member_role", accounts.RoleChoice{Name: member})
		if err != nil {
			return err
		}
		if err := q.SetRoleDefault(ctx, s.EnvID, sc.org.ID, store.DefaultMember, r.ID); err != nil {
			return err
		}
		if err := s.emit(ctx, q, "role.defaults_updated", sc.org.ID,
			map[string]string{"organization_id": sc.org.ID, store.DefaultMember: r.Name}); err != nil {
			return err
		}
		out, err = s.presentOne(ctx, q, sc, r, includeDirect)
		return err
	})
	return out, err
}
