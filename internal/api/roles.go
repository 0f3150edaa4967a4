package api

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	rolesv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/roles"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/roles/rolesv1connect"
	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/rbac"
)

// roles implements scalekit.v1.roles.RolesService: environment and
// organization roles, permissions and the grants between them.
type roles struct {
	rolesv1connect.UnimplementedRolesServiceHandler
	svc *rbac.Service
}

func roleFields(name string, displayName, description, extends *string, perms []string) rbac.RoleFields {
	return rbac.RoleFields{Name: name, DisplayName: displayName, Description: description, Extends: extends, Permissions: perms}
}

// plain turns a proto3 plain string into a set value, since the wire
// cannot tell empty from absent; create calls treat both alike.
func plain(s string) *string { return &s }

func (h *roles) CreateRole(ctx context.Context, req *connect.Request[rolesv1.CreateRoleRequest]) (*connect.Response[rolesv1.CreateRoleResponse], error) {
	in := req.Msg.GetRole()
	r, err := h.svc.CreateRole(ctx, roleFields(in.GetName(), plain(in.GetDisplayName()), in.Description, in.Extends, in.GetPermissions()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.CreateRoleResponse{Role: roleProto(r)}), nil
}

func (h *roles) UpdateRole(ctx context.Context, req *connect.Request[rolesv1.UpdateRoleRequest]) (*connect.Response[rolesv1.UpdateRoleResponse], error) {
	in := req.Msg.GetRole()
	r, err := h.svc.UpdateRole(ctx, req.Msg.GetRoleName(), roleFields("", in.DisplayName, in.Description, in.Extends, in.GetPermissions()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.UpdateRoleResponse{Role: roleProto(r)}), nil
}

func (h *roles) GetRole(ctx context.Context, req *connect.Request[rolesv1.GetRoleRequest]) (*connect.Response[rolesv1.GetRoleResponse], error) {
	r, err := h.svc.GetRole(ctx, req.Msg.GetRoleName(), req.Msg.GetInclude())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.GetRoleResponse{Role: roleProto(r)}), nil
}

func (h *roles) ListRoles(ctx context.Context, req *connect.Request[rolesv1.ListRolesRequest]) (*connect.Response[rolesv1.ListRolesResponse], error) {
	rs, err := h.svc.ListRoles(ctx, req.Msg.GetInclude())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.ListRolesResponse{Roles: rolesProto(rs)}), nil
}

func (h *roles) DeleteRole(ctx context.Context, req *connect.Request[rolesv1.DeleteRoleRequest]) (*connect.Response[emptypb.Empty], error) {
	to := rbac.Reassign{ID: req.Msg.GetReassignRoleId(), Name: req.Msg.GetReassignRoleName()}
	if err := h.svc.DeleteRole(ctx, req.Msg.GetRoleName(), to); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (h *roles) CreateOrganizationRole(ctx context.Context, req *connect.Request[rolesv1.CreateOrganizationRoleRequest]) (*connect.Response[rolesv1.CreateOrganizationRoleResponse], error) {
	in := req.Msg.GetRole()
	r, err := h.svc.CreateOrganizationRole(ctx, req.Msg.GetOrgId(),
		roleFields(in.GetName(), plain(in.GetDisplayName()), in.Description, in.Extends, in.GetPermissions()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.CreateOrganizationRoleResponse{Role: roleProto(r)}), nil
}

func (h *roles) UpdateOrganizationRole(ctx context.Context, req *connect.Request[rolesv1.UpdateOrganizationRoleRequest]) (*connect.Response[rolesv1.UpdateOrganizationRoleResponse], error) {
	in := req.Msg.GetRole()
	r, err := h.svc.UpdateOrganizationRole(ctx, req.Msg.GetOrgId(), req.Msg.GetRoleName(),
		roleFields("", in.DisplayName, in.Description, in.Extends, in.GetPermissions()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.UpdateOrganizationRoleResponse{Role: roleProto(r)}), nil
}

func (h *roles) GetOrganizationRole(ctx context.Context, req *connect.Request[rolesv1.GetOrganizationRoleRequest]) (*connect.Response[rolesv1.GetOrganizationRoleResponse], error) {
	r, err := h.svc.GetOrganizationRole(ctx, req.Msg.GetOrgId(), req.Msg.GetRoleName(), req.Msg.GetInclude())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.GetOrganizationRoleResponse{Role: roleProto(r)}), nil
}

func (h *roles) ListOrganizationRoles(ctx context.Context, req *connect.Request[rolesv1.ListOrganizationRolesRequest]) (*connect.Response[rolesv1.ListOrganizationRolesResponse], error) {
	rs, err := h.svc.ListOrganizationRoles(ctx, req.Msg.GetOrgId(), req.Msg.GetInclude())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.ListOrganizationRolesResponse{Roles: rolesProto(rs)}), nil
}

func (h *roles) DeleteOrganizationRole(ctx context.Context, req *connect.Request[rolesv1.DeleteOrganizationRoleRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.svc.DeleteOrganizationRole(ctx, req.Msg.GetOrgId(), req.Msg.GetRoleName(), req.Msg.GetReassignRoleName()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (h *roles) GetRoleUsersCount(ctx context.Context, req *connect.Request[rolesv1.GetRoleUsersCountRequest]) (*connect.Response[rolesv1.GetRoleUsersCountResponse], error) {
	n, err := h.svc.RoleUsersCount(ctx, req.Msg.GetRoleName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.GetRoleUsersCountResponse{Count: int64(n)}), nil
}

func (h *roles) GetOrganizationRoleUsersCount(ctx context.Context, req *connect.Request[rolesv1.GetOrganizationRoleUsersCountRequest]) (*connect.Response[rolesv1.GetOrganizationRoleUsersCountResponse], error) {
	n, err := h.svc.OrganizationRoleUsersCount(ctx, req.Msg.GetOrgId(), req.Msg.GetRoleName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.GetOrganizationRoleUsersCountResponse{Count: int64(n)}), nil
}

// defaultChoice reads one default of UpdateDefaultRoles: the plain role
// name (what the SDKs send) wins over the UpdateDefaultRole message; nil
// when neither is set.
func defaultChoice(name *string, msg *rolesv1.UpdateDefaultRole) *accounts.RoleChoice {
	switch {
	case name != nil:
		return &accounts.RoleChoice{Name: *name}
	case msg.GetName() != "" || msg.GetId() != "":
		return &accounts.RoleChoice{ID: msg.GetId(), Name: msg.GetName()}
	}
	return nil
}

func (h *roles) UpdateDefaultRoles(ctx context.Context, req *connect.Request[rolesv1.UpdateDefaultRolesRequest]) (*connect.Response[rolesv1.UpdateDefaultRolesResponse], error) {
	m := req.Msg
	creator, member, err := h.svc.UpdateDefaultRoles(ctx, defaultChoice(m.DefaultCreatorRole, m.GetDefaultCreator()),
		defaultChoice(m.DefaultMemberRole, m.GetDefaultMember()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.UpdateDefaultRolesResponse{DefaultCreator: roleProto(creator), DefaultMember: roleProto(member)}), nil
}

func (h *roles) UpdateDefaultOrganizationRoles(ctx context.Context, req *connect.Request[rolesv1.UpdateDefaultOrganizationRolesRequest]) (*connect.Response[rolesv1.UpdateDefaultOrganizationRolesResponse], error) {
	r, err := h.svc.UpdateDefaultOrganizationRoles(ctx, req.Msg.GetOrgId(), req.Msg.GetDefaultMemberRole())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.UpdateDefaultOrganizationRolesResponse{DefaultMember: roleProto(r)}), nil
}

func (h *roles) ListDependentRoles(ctx context.Context, req *connect.Request[rolesv1.ListDependentRolesRequest]) (*connect.Response[rolesv1.ListDependentRolesResponse], error) {
	rs, err := h.svc.ListDependentRoles(ctx, req.Msg.GetRoleName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.ListDependentRolesResponse{Roles: rolesProto(rs)}), nil
}

func (h *roles) DeleteRoleBase(ctx context.Context, req *connect.Request[rolesv1.DeleteRoleBaseRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.svc.DeleteRoleBase(ctx, req.Msg.GetRoleName()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (h *roles) DeleteOrganizationRoleBase(ctx context.Context, req *connect.Request[rolesv1.DeleteOrganizationRoleBaseRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.svc.DeleteOrganizationRoleBase(ctx, req.Msg.GetOrgId(), req.Msg.GetRoleName()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (h *roles) CreatePermission(ctx context.Context, req *connect.Request[rolesv1.CreatePermissionRequest]) (*connect.Response[rolesv1.CreatePermissionResponse], error) {
	in := req.Msg.GetPermission()
	p, err := h.svc.CreatePermission(ctx, in.GetName(), in.GetDescription())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.CreatePermissionResponse{Permission: permissionProto(p)}), nil
}

func (h *roles) GetPermission(ctx context.Context, req *connect.Request[rolesv1.GetPermissionRequest]) (*connect.Response[rolesv1.GetPermissionResponse], error) {
	p, err := h.svc.GetPermission(ctx, req.Msg.GetPermissionName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.GetPermissionResponse{Permission: permissionProto(p)}), nil
}

func (h *roles) UpdatePermission(ctx context.Context, req *connect.Request[rolesv1.UpdatePermissionRequest]) (*connect.Response[rolesv1.UpdatePermissionResponse], error) {
	in := req.Msg.GetPermission()
	p, err := h.svc.UpdatePermission(ctx, req.Msg.GetPermissionName(), in.GetName(), in.GetDescription())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.UpdatePermissionResponse{Permission: permissionProto(p)}), nil
}

func (h *roles) ListPermissions(ctx context.Context, req *connect.Request[rolesv1.ListPermissionsRequest]) (*connect.Response[rolesv1.ListPermissionsResponse], error) {
	ps, page, err := h.svc.ListPermissions(ctx, int32(req.Msg.GetType()),
		accounts.PageRequest{Size: req.Msg.GetPageSize(), Token: req.Msg.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &rolesv1.ListPermissionsResponse{NextPageToken: page.NextToken, TotalSize: page.Total}
	for _, p := range ps {
		out.Permissions = append(out.Permissions, permissionProto(p))
	}
	return connect.NewResponse(out), nil
}

func (h *roles) DeletePermission(ctx context.Context, req *connect.Request[rolesv1.DeletePermissionRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.svc.DeletePermission(ctx, req.Msg.GetPermissionName()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (h *roles) ListRolePermissions(ctx context.Context, req *connect.Request[rolesv1.ListRolePermissionsRequest]) (*connect.Response[rolesv1.ListRolePermissionsResponse], error) {
	ps, err := h.svc.ListRolePermissions(ctx, req.Msg.GetRoleName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.ListRolePermissionsResponse{Permissions: grantedPermissionsProto(ps)}), nil
}

func (h *roles) AddPermissionsToRole(ctx context.Context, req *connect.Request[rolesv1.AddPermissionsToRoleRequest]) (*connect.Response[rolesv1.AddPermissionsToRoleResponse], error) {
	ps, err := h.svc.AddPermissionsToRole(ctx, req.Msg.GetRoleName(), req.Msg.GetPermissionNames())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.AddPermissionsToRoleResponse{Permissions: grantedPermissionsProto(ps)}), nil
}

func (h *roles) RemovePermissionFromRole(ctx context.Context, req *connect.Request[rolesv1.RemovePermissionFromRoleRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.svc.RemovePermissionFromRole(ctx, req.Msg.GetRoleName(), req.Msg.GetPermissionName()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (h *roles) ListEffectiveRolePermissions(ctx context.Context, req *connect.Request[rolesv1.ListEffectiveRolePermissionsRequest]) (*connect.Response[rolesv1.ListEffectiveRolePermissionsResponse], error) {
	ps, err := h.svc.ListEffectiveRolePermissions(ctx, req.Msg.GetRoleName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&rolesv1.ListEffectiveRolePermissionsResponse{Permissions: grantedPermissionsProto(ps)}), nil
}
