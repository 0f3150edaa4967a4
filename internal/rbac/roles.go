package rbac

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// RoleFields are a role's writable fields; nil means not set. Name is set
// at creation only. Extends names the base role ("" removes it).
// Permissions, when non-empty, replaces the role's own permissions.
type RoleFields struct {
	Name        string
	DisplayName *string
	Description *string
	Extends     *string
	Permissions []string
}

// Reassign names the role a deleted role's members move to (by id or name).
type Reassign = accounts.RoleChoice

// validate checks the fields a request sets; create also checks the name.
func (f *RoleFields) validate(create bool) error {
	var v apierr.Violations
	if create {
		f.Name = strings.TrimSpace(f.Name)
		checkRoleName(&v, "role.name", f.Name)
	}
	if f.DisplayName != nil {
		d := strings.TrimSpace(*f.DisplayName)
		f.DisplayName = &d
		if utf8.RuneCountInString(d) > accounts.MaxDisplayNameLen {
			v.Add("role.display_name", fmt.Sprintf("must be at most %d characters", accounts.MaxDisplayNameLen))
		}
	}
	checkDescription(&v, "role.description", f.Description)
	for _, p := range f.Permissions {
		if strings.TrimSpace(p) == "" {
			v.Add("role.permissions", "must not hold an empty name")
			break
		}
	}
	return v.Err()
}

// setBase makes r extend the role named base, as seen from r's scope,
// refusing a base that is r itself or already extends r (a cycle).
func (s *Service) setBase(ctx context.Context, q *store.Q, sc scope, r *store.Role, base string) error {
	if base == "" {
		r.BaseRoleID, r.BaseName = "", ""
		return nil
	}
	if err := q.LockRoleGraph(ctx); err != nil {
		return err
	}
	b, err := s.choose(ctx, q, sc, "role.extends", accounts.RoleChoice{Name: base})
	if err != nil {
		return err
	}
	if b.ID == r.ID {
		return apierr.InvalidArgument(apierr.Violation{Field: "role.extends", Constraint: "acyclic",
			Description: fmt.Sprintf("role %q cannot extend itself", r.Name)})
	}
	ancestors, err := q.RoleAncestors(ctx, s.EnvID, b.ID)
	if err != nil {
		return err
	}
	if slices.Contains(ancestors, r.ID) {
		return apierr.InvalidArgument(apierr.Violation{Field: "role.extends", Constraint: "acyclic",
			Description: fmt.Sprintf("role %q already extends %q (directly or through its base roles), so %q cannot extend %q: that would form a cycle",
				b.Name, r.Name, r.Name, b.Name)})
	}
	r.BaseRoleID, r.BaseName = b.ID, b.Name
	return nil
}

// permissionIDs resolves permission names; every one must exist.
func (s *Service) permissionIDs(ctx context.Context, q *store.Q, field string, names []string) ([]string, error) {
	var uniq []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !slices.Contains(uniq, n) {
			uniq = append(uniq, n)
		}
	}
	found, err := q.PermissionsByName(ctx, s.EnvID, uniq)
	if err != nil {
		return nil, err
	}
	var v apierr.Violations
	ids := make([]string, 0, len(uniq))
	for _, n := range uniq {
		p, ok := found[n]
		if !ok {
			v.Add(field, fmt.Sprintf("permission %q does not exist; create it first", n))
			continue
		}
		ids = append(ids, p.ID)
	}
	return ids, v.Err()
}

func (s *Service) createRole(ctx context.Context, orgRef string, f RoleFields) (*Role, error) {
	if err := f.validate(true); err != nil {
		return nil, err
	}
	var out *Role
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		sc := scope{}
		if orgRef != "" {
			var err error
			if sc, err = s.orgScope(ctx, q, orgRef); err != nil {
				return err
			}
		}
		now := s.Now()
		r := &store.Role{ID: s.IDs.New(id.Role), EnvID: s.EnvID, OrgID: sc.orgID(), Name: f.Name, DisplayName: f.Name,
			CreatedAt: now, UpdatedAt: now}
		if f.DisplayName != nil && *f.DisplayName != "" {
			r.DisplayName = *f.DisplayName
		}
		if f.Description != nil {
			r.Description = *f.Description
		}
		if f.Extends != nil {
			if err := s.setBase(ctx, q, sc, r, strings.TrimSpace(*f.Extends)); err != nil {
				return err
			}
		}
		perms, err := s.permissionIDs(ctx, q, "role.permissions", f.Permissions)
		if err != nil {
			return err
		}
		if err := q.CreateRole(ctx, r); err != nil {
			return apierr.FromStore(err, "role", r.Name)
		}
		if err := q.AddRolePermissions(ctx, s.EnvID, r.ID, perms, now); err != nil {
			return err
		}
		if err := s.emit(ctx, q, "role.created", r.ID, roleEvent(r)); err != nil {
			return err
		}
		out, err = s.presentOne(ctx, q, sc, r, includeDirect)
		return err
	})
	return out, err
}

func (s *Service) updateRole(ctx context.Context, orgRef, name string, f RoleFields) (*Role, error) {
	if err := f.validate(false); err != nil {
		return nil, err
	}
	var out *Role
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		sc, r, err := s.roleIn(ctx, q, orgRef, name)
		if err != nil {
			return err
		}
		if f.DisplayName != nil {
			r.DisplayName = *f.DisplayName
			if r.DisplayName == "" {
				r.DisplayName = r.Name
			}
		}
		if f.Description != nil {
			r.Description = *f.Description
		}
		if f.Extends != nil {
			if err := s.setBase(ctx, q, sc, r, strings.TrimSpace(*f.Extends)); err != nil {
				return err
			}
		}
		r.UpdatedAt = s.Now()
		if err := q.UpdateRole(ctx, r); err != nil {
			return apierr.FromStore(err, "role", name)
		}
		if len(f.Permissions) > 0 {
			perms, err := s.permissionIDs(ctx, q, "role.permissions", f.Permissions)
			if err != nil {
				return err
			}
			if err := q.SetRolePermissions(ctx, s.EnvID, r.ID, perms, r.UpdatedAt); err != nil {
				return err
			}
		}
		if err := s.emit(ctx, q, "role.updated", r.ID, roleEvent(r)); err != nil {
			return err
		}
		out, err = s.presentOne(ctx, q, sc, r, includeDirect)
		return err
	})
	return out, err
}

// roleIn resolves the scope and a role it defines itself.
func (s *Service) roleIn(ctx context.Context, q *store.Q, orgRef, name string) (scope, *store.Role, error) {
	sc := scope{}
	if orgRef != "" {
		var err error
		if sc, err = s.orgScope(ctx, q, orgRef); err != nil {
			return sc, nil, err
		}
	}
	r, err := s.ownRole(ctx, q, sc, "role_name", name)
	return sc, r, err
}

func (s *Service) getRole(ctx context.Context, orgRef, name, inc string) (*Role, error) {
	in, err := parseInclude(inc)
	if err != nil {
		return nil, err
	}
	if err := pathName("role_name", name); err != nil {
		return nil, err
	}
	q := s.Store.Q()
	sc := scope{}
	kind := "role"
	if orgRef != "" {
		if sc, err = s.orgScope(ctx, q, orgRef); err != nil {
			return nil, err
		}
		kind = "organization role"
	}
	r, err := s.visibleRole(ctx, q, sc, name)
	if err != nil {
		return nil, apierr.FromStore(err, kind, name)
	}
	return s.presentOne(ctx, q, sc, r, in)
}

func (s *Service) listRoles(ctx context.Context, orgRef, inc string) ([]*Role, error) {
	in, err := parseInclude(inc)
	if err != nil {
		return nil, err
	}
	q := s.Store.Q()
	if orgRef == "" {
		roles, err := q.ListRoles(ctx, s.EnvID)
		if err != nil {
			return nil, err
		}
		return s.present(ctx, q, scope{}, roles, in)
	}
	sc, err := s.orgScope(ctx, q, orgRef)
	if err != nil {
		return nil, err
	}
	all, err := q.ListOrganizationRoles(ctx, s.EnvID, sc.org.ID)
	if err != nil {
		return nil, err
	}
	// An organization's own role hides the environment role of its name.
	var roles []*store.Role
	for i, r := range all {
		if r.OrgID == "" && i+1 < len(all) && all[i+1].Name == r.Name {
			continue
		}
		roles = append(roles, r)
	}
	return s.present(ctx, q, sc, roles, in)
}

func (s *Service) roleUsersCount(ctx context.Context, orgRef, name string) (int, error) {
	if err := pathName("role_name", name); err != nil {
		return 0, err
	}
	q := s.Store.Q()
	sc := scope{}
	kind := "role"
	if orgRef != "" {
		var err error
		if sc, err = s.orgScope(ctx, q, orgRef); err != nil {
			return 0, err
		}
		kind = "organization role"
	}
	r, err := s.visibleRole(ctx, q, sc, name)
	if err != nil {
		return 0, apierr.FromStore(err, kind, name)
	}
	return q.CountRoleUsers(ctx, s.EnvID, sc.orgID(), r.ID)
}

// CreateRole creates an environment role.
func (s *Service) CreateRole(ctx context.Context, f RoleFields) (*Role, error) {
	return s.createRole(ctx, "", f)
}

// UpdateRole changes an environment role.
func (s *Service) UpdateRole(ctx context.Context, name string, f RoleFields) (*Role, error) {
	return s.updateRole(ctx, "", name, f)
}

// GetRole reads an environment role; include is "", "permissions" or
// "permissions:all".
func (s *Service) GetRole(ctx context.Context, name, include string) (*Role, error) {
	return s.getRole(ctx, "", name, include)
}

// ListRoles lists the environment roles in name order.
func (s *Service) ListRoles(ctx context.Context, include string) ([]*Role, error) {
	return s.listRoles(ctx, "", include)
}

// DeleteRole deletes an environment role. While users hold it, to must
// name the role they move to; a role other roles extend, or a default
// role, cannot be deleted.
func (s *Service) DeleteRole(ctx context.Context, name string, to Reassign) error {
	return s.deleteRole(ctx, "", name, to)
}

// RoleUsersCount counts the users holding an environment role, in any
// organization.
func (s *Service) RoleUsersCount(ctx context.Context, name string) (int, error) {
	return s.roleUsersCount(ctx, "", name)
}

// DeleteRoleBase makes an environment role extend no role.
func (s *Service) DeleteRoleBase(ctx context.Context, name string) error {
	return s.deleteRoleBase(ctx, "", name)
}

// ListDependentRoles lists the roles (of the environment or of any
// organization) that extend an environment role directly.
func (s *Service) ListDependentRoles(ctx context.Context, name string) ([]*Role, error) {
	q := s.Store.Q()
	r, err := s.ownRole(ctx, q, scope{}, "role_name", name)
	if err != nil {
		return nil, err
	}
	deps, err := q.DependentRoles(ctx, s.EnvID, r.ID)
	if err != nil {
		return nil, err
	}
	return s.present(ctx, q, scope{}, deps, includeDirect)
}
