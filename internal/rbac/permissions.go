package rbac

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Permission types of ListPermissions, numbered as
// scalekit.v1.roles.PermissionType.
const (
	PermissionsAll         int32 = 0
	PermissionsScalekit    int32 = 1 // Scalekit's own; Gatehouse defines none
	PermissionsEnvironment int32 = 2
)

// CreatePermission defines a permission.
func (s *Service) CreatePermission(ctx context.Context, name, description string) (*store.Permission, error) {
	var v apierr.Violations
	name = strings.TrimSpace(name)
	checkPermissionName(&v, "permission.name", name)
	checkDescription(&v, "permission.description", &description)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.Now()
	p := &store.Permission{ID: s.IDs.New(id.Permission), EnvID: s.EnvID, Name: name, Description: description, CreatedAt: now, UpdatedAt: now}
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.CreatePermission(ctx, p); err != nil {
			return apierr.FromStore(err, "permission", name)
		}
		return s.emit(ctx, q, "permission.created", p.ID, permissionEvent(p))
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) permission(ctx context.Context, q *store.Q, name string) (*store.Permission, error) {
	if err := pathName("permission_name", name); err != nil {
		return nil, err
	}
	p, err := q.GetPermissionByName(ctx, s.EnvID, name)
	return p, apierr.FromStore(err, "permission", name)
}

// GetPermission reads a permission by name.
func (s *Service) GetPermission(ctx context.Context, name string) (*store.Permission, error) {
	return s.permission(ctx, s.Store.Q(), name)
}

// UpdatePermission replaces a permission's description. Names never
// change: newName must be empty or the permission's name.
func (s *Service) UpdatePermission(ctx context.Context, name, newName, description string) (*store.Permission, error) {
	var v apierr.Violations
	if n := strings.TrimSpace(newName); n != "" && n != name {
		v.Add("permission.name", fmt.Sprintf("cannot be changed: leave it empty or set it to %q", name))
	}
	checkDescription(&v, "permission.description", &description)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *store.Permission
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		p, err := s.permission(ctx, q, name)
		if err != nil {
			return err
		}
		p.Description, p.UpdatedAt = description, s.Now()
		if err := q.UpdatePermission(ctx, p); err != nil {
			return apierr.FromStore(err, "permission", name)
		}
		out = p
		return s.emit(ctx, q, "permission.updated", p.ID, permissionEvent(p))
	})
	return out, err
}

// ListPermissions pages through the environment's permissions in creation
// order. Gatehouse defines no permissions of its own, so the SCALEKIT type
// lists none.
func (s *Service) ListPermissions(ctx context.Context, typ int32, p accounts.PageRequest) ([]*store.Permission, accounts.PageInfo, error) {
	if typ < PermissionsAll || typ > PermissionsEnvironment {
		return nil, accounts.PageInfo{}, apierr.InvalidArgument(apierr.Violation{Field: "type", Description: "must be ALL, SCALEKIT or ENVIRONMENT"})
	}
	filter := "type=" + strconv.Itoa(int(typ))
	pg, err := s.Accounts.Page(p, "permissions", filter)
	if err != nil {
		return nil, accounts.PageInfo{}, err
	}
	if typ == PermissionsScalekit {
		return []*store.Permission{}, accounts.PageInfo{}, nil
	}
	r, err := s.Store.Q().ListPermissions(ctx, s.EnvID, pg)
	if err != nil {
		return nil, accounts.PageInfo{}, err
	}
	return r.Items, accounts.Info(s.Accounts, r, func(p *store.Permission) string { return p.ID }, "permissions", filter), nil
}

// DeletePermission deletes a permission; every role that held it loses it.
func (s *Service) DeletePermission(ctx context.Context, name string) error {
	return s.Store.Tx(ctx, func(q *store.Q) error {
		p, err := s.permission(ctx, q, name)
		if err != nil {
			return err
		}
		if err := q.DeletePermission(ctx, s.EnvID, p.ID); err != nil {
			return apierr.FromStore(err, "permission", name)
		}
		return s.emit(ctx, q, "permission.deleted", p.ID, permissionEvent(p))
	})
}

// AddPermissionsToRole grants an environment role more permissions (ones
// it holds stay) and returns all its own permissions.
func (s *Service) AddPermissionsToRole(ctx context.Context, roleName string, names []string) ([]store.RolePermission, error) {
	if len(names) == 0 {
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "permission_names", Description: "must name at least one permission"})
	}
	var out []store.RolePermission
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		r, err := s.ownRole(ctx, q, scope{}, "role_name", roleName)
		if err != nil {
			return err
		}
		ids, err := s.permissionIDs(ctx, q, "permission_names", names)
		if err != nil {
			return err
		}
		if err := q.AddRolePermissions(ctx, s.EnvID, r.ID, ids, s.Now()); err != nil {
			return err
		}
		if err := s.emit(ctx, q, "role.permissions_added", r.ID, map[string]any{"id": r.ID, "name": r.Name, "permissions": names}); err != nil {
			return err
		}
		byRole, err := q.RolePermissions(ctx, s.EnvID, []string{r.ID})
		out = byRole[r.ID]
		return err
	})
	return out, err
}

// RemovePermissionFromRole revokes a permission an environment role holds
// directly; what it inherits from its base is unaffected.
func (s *Service) RemovePermissionFromRole(ctx context.Context, roleName, permissionName string) error {
	return s.Store.Tx(ctx, func(q *store.Q) error {
		r, err := s.ownRole(ctx, q, scope{}, "role_name", roleName)
		if err != nil {
			return err
		}
		p, err := s.permission(ctx, q, permissionName)
		if err != nil {
			return err
		}
		if err := q.RemoveRolePermission(ctx, s.EnvID, r.ID, p.ID); errors.Is(err, store.ErrNotFound) {
			e := apierr.NotFound("permission", permissionName)
			e.Message = fmt.Sprintf("role %q does not hold permission %q itself", r.Name, p.Name)
			return e
		} else if err != nil {
			return err
		}
		return s.emit(ctx, q, "role.permission_removed", r.ID, map[string]any{"id": r.ID, "name": r.Name, "permission": p.Name})
	})
}

// ListRolePermissions lists an environment role's own permissions.
func (s *Service) ListRolePermissions(ctx context.Context, roleName string) ([]store.RolePermission, error) {
	return s.rolePermissions(ctx, roleName, includeDirect)
}

// ListEffectiveRolePermissions lists an environment role's permissions
// with those it inherits from its base roles, each once, attributed to the
// nearest role granting it.
func (s *Service) ListEffectiveRolePermissions(ctx context.Context, roleName string) ([]store.RolePermission, error) {
	return s.rolePermissions(ctx, roleName, includeEffective)
}

func (s *Service) rolePermissions(ctx context.Context, roleName string, inc include) ([]store.RolePermission, error) {
	q := s.Store.Q()
	r, err := s.ownRole(ctx, q, scope{}, "role_name", roleName)
	if err != nil {
		return nil, err
	}
	out, err := s.presentOne(ctx, q, scope{}, r, inc)
	if err != nil {
		return nil, err
	}
	return out.Permissions, nil
}

func permissionEvent(p *store.Permission) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "description": p.Description}
}
